// Package architecture holds no code: its test holds lsstgen's packages to the dependency
// rule written in docs/architecture.md, reading the rule from that page and the imports
// from go list.
package architecture
