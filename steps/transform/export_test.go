package transform

// Processed counts items run through the ops (memo misses).
var Processed = &processed
