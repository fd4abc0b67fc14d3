//go:build race

package server_test

// raceEnabled: the race detector keeps shadow memory beside the heap, so an RSS bound
// means nothing under it (TestBodyMemoryBounded), and it makes decodes about ten times
// slower (TestUploadMemoryBounded, TestRemoveRacesUpload run short under it).
const raceEnabled = true
