//go:build race

package appsim

// raceEnabled: the race detector slows gozxing some twentyfold; TestDecodeServerQR then
// checks fewer codes (it has no goroutines for the detector to watch).
const raceEnabled = true
