package appsim

// SampleImageUncached draws the sample afresh, so tests see real determinism, not the cache.
var SampleImageUncached = sampleImage
