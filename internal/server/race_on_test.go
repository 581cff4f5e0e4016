//go:build race

package server

// raceAllocSlack: the race detector's instrumentation allocates on its own
// (three more per request through the chain today), so allocation bounds
// allow for it in race builds instead of being skipped there.
const raceAllocSlack = 5
