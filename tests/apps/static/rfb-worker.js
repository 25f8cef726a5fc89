// A site's own worker script, served from its origin: it only loads the package's worker
// (which could come from elsewhere, e.g. a CDN with CORS, where a worker cannot start).
import "/pkg/worker.js";
