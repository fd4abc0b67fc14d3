//go:build !race

package appsim

const raceEnabled = false
