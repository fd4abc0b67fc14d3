//go:build race

package hub

// raceEnabled: the race detector makes stack frames larger.
const raceEnabled = true
