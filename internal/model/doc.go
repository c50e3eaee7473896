// Package model holds the Go mirror of an instance's model as the CUE gives it (the
// `instance`, `namespaces`, `secrets`, `roles`, `imageFacts`, `userPod`, `components`,
// `outside` and `flows` of platform.#Platform, decoded from their JSON): plain types, no
// CUE, so that the checks and the test harness read a model without evaluating one. Amounts
// carry their unit in the field name, as in schema/types.cue. UserPodFor makes the notebook
// spawner's pod for one user.
package model
