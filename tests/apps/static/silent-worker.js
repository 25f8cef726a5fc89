// A worker script that loads and never starts the viewer (worker-failure.spec.ts): the view
// must give up after its workerTimeoutMs instead of staying `connecting`.
self.onmessage = () => {};
