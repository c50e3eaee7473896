package render

// Evaluations counts CUE evaluations so that tests can tell a cache hit from a miss.
var Evaluations = &evaluations
