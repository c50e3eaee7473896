package render

// Evaluations counts CUE evaluations so that tests can tell a cache hit from a miss.
var Evaluations = &evaluations

// GeneratorFingerprint exposes the generator's identity in cache keys.
var GeneratorFingerprint = generatorFingerprint
