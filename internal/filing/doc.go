// Package filing holds the rules of the "upload filing materials" step of ICP filing
// (备案): filing orders, subject types, provinces, ID documents, the material slots an
// order requires, who may upload which slot, and the order's state machine.
//
// It knows nothing of HTTP, Redis or disks and imports the standard library only, so every
// rule here can be tested as plain functions and reused by any edge.
package filing
