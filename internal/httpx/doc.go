// Package httpx is the echo edge shared by both APIs and the pages: the error envelope and
// the code → status table (errors.go), request-body deadlines (deadline.go), strict JSON
// bodies and the hot paths' hand-written answers (json.go) and the pages'
// Content-Security-Policy (csp.go). Handlers return coded errors; only this package decides
// what a client sees of them.
package httpx
