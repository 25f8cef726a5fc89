// The objects the running viewer hands to a page have exactly the fields its TypeScript
// declarations give them (tests/types/shapes.ts, which `npm run test:types` checks against
// the generated .d.ts), in both modes; the package's modules, view classes and element
// export exactly what is declared; a bad option is refused naming the option.
import { test, expect } from "./fixtures";
import {
  CAPTURE_RESULT,
  ELEMENT_EXPORTS,
  ELEMENT_MEMBERS,
  INDEX_EXPORTS,
  SERVER_STATS_REPORT,
  STAGE_STATS,
  STATS_TIMING,
  VIEWER_STATS,
  VIEW_MEMBERS,
  names,
} from "../types/shapes";

test.use({ serverSpec: { extra: ["--stats-interval", "1"] } });

for (const mode of ["main", "worker"] as const) {
  test(`${mode}: stats, onStats, capture and errors have the declared fields`, async ({ page, server }) => {
    await page.goto(`${server.url}?hud=0`);
    const seen = await page.evaluate(async (worker) => {
      const { createView } = await import("/pkg/index.js" as string);
      const div = document.createElement("div");
      div.style.cssText = "width: 320px; height: 240px";
      document.body.append(div);
      let first: [any, any] | null = null;
      const view = await createView(div, {
        worker,
        onStats: (stats: any, timing: any) => {
          if (first === null && timing.server !== null && stats.framesDisplayed > 0) first = [stats, timing];
        },
      });
      const deadline = performance.now() + 15_000;
      while (first === null && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (first === null) throw new Error("no onStats with the server's report in 15 s");
      const [stats, timing] = first as [any, any];
      const capture = await view.capture();
      const live = view.stats();
      let refused: any = null;
      try {
        await createView(document.createElement("div"), { worker, fit: "sideways" });
      } catch (error) {
        refused = error;
      }
      view.dispose();
      const keys = (o: object) => Object.keys(o).sort();
      return {
        className: view.constructor.name,
        stats: keys(live),
        stages: keys(live.stages),
        onStats: keys(stats),
        timing: keys(timing),
        server: keys(timing.server),
        capture: keys(capture),
        captureStats: keys(capture.stats),
        dataIsOwnBuffer: capture.data instanceof Uint8ClampedArray && capture.data.buffer instanceof ArrayBuffer,
        dataLength: capture.data.length,
        size: [capture.width, capture.height],
        error: {
          isError: refused instanceof Error,
          name: refused?.name,
          keys: refused === null ? [] : keys(refused),
          stage: refused?.stage,
          message: refused?.message,
        },
      };
    }, mode === "worker");

    expect(seen.className).toBe(mode === "worker" ? "WorkerView" : "RemoteFramebufferView");
    expect(seen.stats).toEqual(names(VIEWER_STATS));
    expect(seen.stages).toEqual(names(STAGE_STATS));
    expect(seen.onStats).toEqual(names(VIEWER_STATS));
    expect(seen.captureStats).toEqual(names(VIEWER_STATS));
    expect(seen.timing).toEqual(names(STATS_TIMING));
    expect(seen.server).toEqual(names(SERVER_STATS_REPORT));
    expect(seen.capture).toEqual(names(CAPTURE_RESULT));
    expect(seen.dataIsOwnBuffer).toBe(true);
    expect(seen.dataLength).toBe(seen.size[0] * seen.size[1] * 4);
    // An options error carries its `name` and `stage` as own properties (and `code`,
    // `retryInMs` where they apply: none here).
    expect(seen.error).toEqual({
      isError: true,
      name: "RfbViewerError",
      keys: ["name", "stage"],
      stage: "options",
      message: expect.stringMatching(/^invalid option `fit`: unknown variant `sideways`, expected one of `contain`, `cover`, `fill`/),
    });
  });
}

test("the modules, view classes and element export what their declarations say", async ({ page, server }) => {
  await page.goto(`${server.url}?hud=0`);
  const seen = await page.evaluate(async () => {
    const index = await import("/pkg/index.js" as string);
    const element = await import("/pkg/element.js" as string);
    // Public members: the prototype's own names, without the constructor, wasm-bindgen's
    // internal `__` helpers and the custom element's lifecycle callbacks.
    const internal = new Set(["constructor", "connectedCallback", "disconnectedCallback", "attributeChangedCallback"]);
    const members = (cls: any) =>
      Object.getOwnPropertyNames(cls.prototype).filter((n) => !internal.has(n) && !n.startsWith("__")).sort();
    return {
      index: Object.keys(index).sort(),
      element: Object.keys(element).sort(),
      view: members(index.RemoteFramebufferView),
      workerView: members(index.WorkerView),
      rfbView: members(element.RfbViewElement),
    };
  });
  expect(seen.index).toEqual(names(INDEX_EXPORTS));
  expect(seen.element).toEqual(names(ELEMENT_EXPORTS));
  expect(seen.view).toEqual(names(VIEW_MEMBERS));
  expect(seen.workerView).toEqual(names(VIEW_MEMBERS));
  expect(seen.rfbView).toEqual(names(ELEMENT_MEMBERS));
});

test("a bad option is refused with its name, in both modes", async ({ page, server }) => {
  await page.goto(`${server.url}?hud=0`);
  const messages = await page.evaluate(async () => {
    const { createView } = await import("/pkg/index.js" as string);
    const out: string[] = [];
    for (const worker of [false, true]) {
      for (const options of [
        { maxInflight: "four" },
        { maxInflight: 999 },
        { reconnect: "sometimes" },
        { reconnect: { factor: 99 } },
        { reconnect: { jitter: "lots" } },
        { onState: 5 },
        { background: 7 },
      ]) {
        try {
          const view = await createView(document.createElement("canvas"), { worker, ...options });
          view.dispose();
          out.push(`accepted ${JSON.stringify(options)}`);
        } catch (error: any) {
          out.push(`${error.stage}: ${error.message}`);
        }
      }
    }
    return out;
  });
  const expected = [
    /^options: invalid option `maxInflight`: invalid type: string "four", expected f64$/,
    /^options: invalid option `maxInflight`: expected a number from 1 to 255$/,
    /^options: invalid option `reconnect`: invalid type: string "sometimes", expected a boolean or an object of initialDelayMs/,
    /^options: invalid option `reconnect.factor`: expected a number from 1 to 10$/,
    /^options: invalid option `reconnect`: invalid type: string "lots", expected f64$/,
    /^options: invalid option `onState`: expected a function$/,
    /^options: invalid option `background`: invalid type: .*expected a string$/,
  ];
  expect(messages).toHaveLength(expected.length * 2);
  messages.forEach((message, i) => expect(message).toMatch(expected[i % expected.length]));
});
