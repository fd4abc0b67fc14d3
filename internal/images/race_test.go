//go:build race

package images

// raceEnabled: the race detector slows pixel loops some twentyfold, so the tests skip
// their largest images under it (they have no goroutines for it to check).
const raceEnabled = true
