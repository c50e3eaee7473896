package monitoring

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	promql "github.com/prometheus/prometheus/promql/parser"
)

// Where the checked files are, from this module's folder.
const (
	repoRoot      = "../.."
	metricsSource = repoRoot + "/internal/sync/metrics.go"
	rulesFile     = repoRoot + "/deploy/monitoring/lsstgen-sync.rules.yaml"
	dashboardFile = repoRoot + "/deploy/monitoring/lsstgen-sync.dashboard.json"
)

// exported reads the metrics the daemon exports from the code that registers them: each
// call prometheus.New<Kind>[Vec](<Kind>Opts{Name: "…"}, []string{labels…}). A histogram
// is scraped as <name>_bucket (with le), _count and _sum. It maps each name to its labels.
func exported(file string) (map[string][]string, error) {
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		return nil, err
	}
	metrics := map[string][]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || !strings.HasPrefix(sel.Sel.Name, "New") {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "prometheus" {
			return true
		}
		opts, ok := call.Args[0].(*ast.CompositeLit)
		if !ok {
			return true
		}
		var name string
		for _, e := range opts.Elts {
			if kv, ok := e.(*ast.KeyValueExpr); ok {
				if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Name" {
					if lit, ok := kv.Value.(*ast.BasicLit); ok {
						name, _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
		if name == "" {
			return true
		}
		var labels []string
		if len(call.Args) > 1 {
			if lst, ok := call.Args[1].(*ast.CompositeLit); ok {
				for _, e := range lst.Elts {
					if lit, ok := e.(*ast.BasicLit); ok {
						l, _ := strconv.Unquote(lit.Value)
						labels = append(labels, l)
					}
				}
			}
		}
		if strings.HasPrefix(sel.Sel.Name, "NewHistogram") {
			metrics[name+"_bucket"] = append(slices.Clone(labels), "le")
			metrics[name+"_count"] = labels
			metrics[name+"_sum"] = labels
		} else {
			metrics[name] = labels
		}
		return true
	})
	return metrics, nil
}

// checkExpr parses a PromQL expression and lists every metric it selects that the daemon
// does not export, and every label a selector matches on that the metric does not carry.
func checkExpr(expr string, metrics map[string][]string) ([]string, promql.Expr, error) {
	e, err := promql.NewParser(promql.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, nil, err
	}
	var problems []string
	promql.Inspect(e, func(n promql.Node, _ []promql.Node) error {
		vs, ok := n.(*promql.VectorSelector)
		if !ok {
			return nil
		}
		labels, ok := metrics[vs.Name]
		if !ok {
			problems = append(problems, fmt.Sprintf("metric %q is not one lsstgen sync exports", vs.Name))
			return nil
		}
		for _, m := range vs.LabelMatchers {
			if m.Name != model.MetricNameLabel && !slices.Contains(labels, m.Name) {
				problems = append(problems, fmt.Sprintf("%s has no label %q (it has %v)", vs.Name, m.Name, labels))
			}
		}
		return nil
	})
	return problems, e, nil
}

// wantMetrics are the names docs/sync.md lists; exported must find them all, so that a
// change to how metrics.go registers them cannot leave the check with nothing to compare.
var wantMetrics = []string{
	"lsstgen_sync_cycle_duration_seconds_bucket", "lsstgen_sync_cycle_duration_seconds_count",
	"lsstgen_sync_objects_total", "lsstgen_sync_errors_total", "lsstgen_sync_drift_total",
	"lsstgen_sync_last_success_timestamp_seconds", "lsstgen_sync_last_success_commit_info",
}

func TestExportedMetrics(t *testing.T) {
	metrics, err := exported(metricsSource)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range wantMetrics {
		if _, ok := metrics[m]; !ok {
			t.Errorf("%s: %s not found among %v", metricsSource, m, keys(metrics))
		}
	}
	if got := metrics["lsstgen_sync_cycle_duration_seconds_count"]; !slices.Equal(got, []string{"instance", "result"}) {
		t.Errorf("lsstgen_sync_cycle_duration_seconds labels %v, want [instance result]", got)
	}
}

// TestAlertRules parses the rule file with Prometheus's own rule parser (unknown fields
// refused), checks every expression's metrics and labels against what the daemon exports,
// and that the alerts the operators rely on are there with a severity and a summary.
func TestAlertRules(t *testing.T) {
	metrics, err := exported(metricsSource)
	if err != nil {
		t.Fatal(err)
	}
	groups, errs := rulefmt.ParseFile(rulesFile, false, model.UTF8Validation, promql.NewParser(promql.Options{}), slog.New(slog.DiscardHandler))
	for _, err := range errs {
		t.Error(err)
	}
	if len(errs) > 0 {
		return
	}
	alerts := map[string]rulefmt.Rule{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			problems, _, err := checkExpr(r.Expr, metrics)
			if err != nil {
				t.Errorf("%s: %v", r.Alert, err)
			}
			for _, p := range problems {
				t.Errorf("%s: %s", r.Alert, p)
			}
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: wants a severity label and summary and description annotations", r.Alert)
			}
			alerts[r.Alert] = r
		}
	}
	for _, a := range []string{"LsstgenSyncFailing", "LsstgenSyncStale", "LsstgenSyncNeverSucceeded", "LsstgenSyncDriftRepeated"} {
		if _, ok := alerts[a]; !ok {
			t.Errorf("alert %s missing from %s", a, rulesFile)
		}
	}
	if stale, ok := alerts["LsstgenSyncStale"]; ok {
		checkStaleThreshold(t, stale.Expr)
	}
}

// intervalArg finds the sync daemon's --interval in a rendered Deployment.
var intervalArg = regexp.MustCompile(`(?m)^\s*- --interval=(\S+)$`)

// checkStaleThreshold holds the stale alert's threshold (the number its expression compares
// with, in seconds) to three times the --interval every rendered sync Deployment passes.
func checkStaleThreshold(t *testing.T, expr string) {
	t.Helper()
	e, err := promql.NewParser(promql.Options{}).ParseExpr(expr)
	if err != nil {
		t.Fatal(err)
	}
	var threshold float64
	promql.Inspect(e, func(n promql.Node, _ []promql.Node) error {
		if b, ok := n.(*promql.BinaryExpr); ok && b.Op.IsComparisonOperator() {
			if num, ok := b.RHS.(*promql.NumberLiteral); ok {
				threshold = num.Val
			}
		}
		return nil
	})
	deployments, err := filepath.Glob(repoRoot + "/generated/*/lsstgen-system/deployment-lsstgen-sync.yaml")
	if err != nil || len(deployments) == 0 {
		t.Fatalf("no rendered sync Deployments (%v)", err)
	}
	for _, d := range deployments {
		b, err := os.ReadFile(d)
		if err != nil {
			t.Fatal(err)
		}
		m := intervalArg.FindSubmatch(b)
		if m == nil {
			t.Errorf("%s: no --interval argument", d)
			continue
		}
		iv, err := time.ParseDuration(string(m[1]))
		if err != nil {
			t.Errorf("%s: --interval=%s: %v", d, m[1], err)
			continue
		}
		if want := 3 * iv.Seconds(); threshold != want {
			t.Errorf("LsstgenSyncStale fires after %gs, but %s syncs every %s: want three intervals, %gs", threshold, d, iv, want)
		}
	}
}

// TestDashboard checks the Grafana dashboard: valid JSON, unique panel ids, and every
// target's expression parsed and held to the exported metrics like the rules'.
func TestDashboard(t *testing.T) {
	metrics, err := exported(metricsSource)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			ID      int    `json:"id"`
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if dash.UID == "" || dash.Title == "" || len(dash.Panels) == 0 {
		t.Fatalf("%s: no uid, title or panels", dashboardFile)
	}
	ids := map[int]bool{}
	seen := map[string]bool{}
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		for _, tg := range p.Targets {
			// Grafana's variables are not PromQL: give them a value first.
			expr := strings.ReplaceAll(tg.Expr, "$instance", "pdac")
			problems, e, err := checkExpr(expr, metrics)
			if err != nil {
				t.Errorf("panel %q: %v", p.Title, err)
				continue
			}
			for _, pr := range problems {
				t.Errorf("panel %q: %s", p.Title, pr)
			}
			promql.Inspect(e, func(n promql.Node, _ []promql.Node) error {
				if vs, ok := n.(*promql.VectorSelector); ok {
					seen[strings.TrimSuffix(strings.TrimSuffix(vs.Name, "_bucket"), "_count")] = true
				}
				return nil
			})
		}
	}
	for _, m := range []string{"lsstgen_sync_cycle_duration_seconds", "lsstgen_sync_objects_total", "lsstgen_sync_errors_total",
		"lsstgen_sync_drift_total", "lsstgen_sync_last_success_timestamp_seconds", "lsstgen_sync_last_success_commit_info"} {
		if !seen[m] {
			t.Errorf("no panel shows %s", m)
		}
	}
}

// TestChecksFail gives the checks rules they must refuse: a metric the daemon does not
// export, a label it does not carry, a malformed expression, an unknown field.
func TestChecksFail(t *testing.T) {
	metrics, err := exported(metricsSource)
	if err != nil {
		t.Fatal(err)
	}
	for expr, want := range map[string]string{
		`rate(lsstgen_sync_no_such_metric_total[5m]) > 0`: `metric "lsstgen_sync_no_such_metric_total" is not one`,
		`lsstgen_sync_errors_total{result="failure"} > 0`: `has no label "result"`,
	} {
		problems, _, err := checkExpr(expr, metrics)
		if err != nil || len(problems) != 1 || !strings.Contains(problems[0], want) {
			t.Errorf("%s: got %v, %v; want %q", expr, problems, err, want)
		}
	}
	if _, _, err := checkExpr(`sum by (instance (lsstgen_sync_errors_total)`, metrics); err == nil {
		t.Error("a malformed expression: no error")
	}
	for name, rules := range map[string]string{
		"bad expression": "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: 'sum(('\n",
		"unknown field":  "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    severity: page\n",
	} {
		_, errs := rulefmt.Parse([]byte(rules), false, model.UTF8Validation, promql.NewParser(promql.Options{}), slog.New(slog.DiscardHandler))
		if len(errs) == 0 {
			t.Errorf("%s: the rule parser accepted it", name)
		}
	}
}

func keys(m map[string][]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
