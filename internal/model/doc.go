// Package model holds the Go mirror of an instance's model as the CUE gives it (the
// `instance`, `namespaces` and `secrets` of schema.#Platform, decoded from their JSON):
// plain types, no CUE, so that the checks and the test harness read a model without
// evaluating one.
package model
