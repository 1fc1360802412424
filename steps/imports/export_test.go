package imports

// Loaded counts lazily loaded annotations actually read (memo misses).
var Loaded = &loaded
