#!/usr/bin/env node
'use strict';
// HEALTHCHECK of the Crosstalk image (see Dockerfile): exit 0 when GET /healthz answers 2xx, 1 otherwise.
// The slim Node image has no curl or wget; node's fetch does the request. The port is the service's own
// PORT (default 3000, as in cds-hooks/schemas/config.schema.json); the service must listen on 127.0.0.1
// too, which HOST=0.0.0.0 (the image default) does.

const port = process.env.PORT || '3000';

fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(4000) }).then(
  (res) => process.exit(res.ok ? 0 : 1),
  () => process.exit(1),
);
