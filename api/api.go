// Package api holds the OpenAPI 3.1 document of beianscan's HTTP API (both the desktop's
// /api/v1 and the app's /m), served at GET /openapi.json. The server's tests validate every
// request and answer they make against it, so the document and the server cannot disagree.
package api

import _ "embed"

// OpenAPI is the document, JSON.
//
//go:embed openapi.json
var OpenAPI []byte
