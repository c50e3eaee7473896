// Package validate checks an instance's rendered objects, together with the instance's
// model (its hardware above all), against the platform's rules: schema, references,
// security, capacity and placement, and the planning notes' own rules. Findings are data:
// a rule id, a severity, the instance, the object, a message saying what to change and,
// where it can be traced, the CUE source position that caused it.
package validate
