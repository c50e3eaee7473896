// Package monitoring holds the tests of lsstgen's Prometheus alert rules and Grafana
// dashboard (deploy/monitoring/): the rules parsed by Prometheus's own rule parser, and
// every metric and label they and the dashboard name held to what internal/sync exports.
// A module of its own, so that lsstgen's go.mod stays free of Prometheus's server.
package monitoring
