package transform

// Processed counts items run through the ops (memo misses).
var Processed = &processed

// Decodes and Encodes count image decodes and encodes.
var Decodes, Encodes = &decodes, &encodes
