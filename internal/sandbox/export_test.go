package sandbox

// EachProcess is eachProcess for the external tests.
var EachProcess = eachProcess
