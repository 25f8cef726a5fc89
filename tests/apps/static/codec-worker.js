// The package's worker with WebCodecs refusing the stream's codec (codec-patch.js; the
// mode comes from this script's `?mode=`), for codec.spec.ts in worker mode.
import "./codec-patch.js";

self.rfbPatchCodecs(new URL(self.location.href).searchParams.get("mode"));
await import("/pkg/worker.js");
