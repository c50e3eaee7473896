package sync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	ssaerrors "github.com/fluxcd/pkg/ssa/errors"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lsst-dm/lsstgen/internal/manifest"
)

// ReasonSyncFailed is the reason of the Warning Events a failed cycle leaves.
const ReasonSyncFailed = "SyncFailed"

// ReasonWebhookRejected is the reason of the Warning Event a webhook request with a bad
// signature leaves.
const ReasonWebhookRejected = "WebhookRejected"

// maxEventMessage keeps Event messages under the apiserver's limit (1 KiB for events.k8s.io).
const maxEventMessage = 1000

// failureEvents leaves a Warning Event about a failed cycle on the instance's inventory
// and, when the apply failed on one object, on that object, so `kubectl describe` and
// `kubectl get events` show it. Failing to write an Event is logged, never an error.
func (s *Syncer) failureEvents(ctx context.Context, res *Result, cycleErr error) {
	if s.opts.DryRun || ctx.Err() != nil {
		return
	}
	msg := cycleErr.Error()
	if res.Commit != "" {
		msg = fmt.Sprintf("commit %s: %s", short(res.Commit), msg)
	}
	if len(msg) > maxEventMessage {
		msg = msg[:maxEventMessage-3] + "..."
	}
	targets := []*unstructured.Unstructured{}
	inv := &unstructured.Unstructured{}
	inv.SetAPIVersion("v1")
	inv.SetKind("ConfigMap")
	inv.SetNamespace(s.opts.Namespace)
	inv.SetName(InventoryName(s.opts.Instance))
	targets = append(targets, inv)
	var dre *ssaerrors.DryRunErr
	if errors.As(cycleErr, &dre) && dre.InvolvedObject() != nil {
		targets = append(targets, dre.InvolvedObject().DeepCopy())
	}
	for _, t := range targets {
		if err := s.event(ctx, t, ReasonSyncFailed, msg); err != nil {
			s.log.Warn("event not recorded", "instance", s.opts.Instance, "object", manifest.ObjectID(t), "error", err.Error())
		}
	}
}

// event records a Warning Event on the live object o; an object that does not exist gets none.
func (s *Syncer) event(ctx context.Context, o *unstructured.Unstructured, reason, msg string) error {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(o.GroupVersionKind())
	if err := s.client.Get(ctx, client.ObjectKeyFromObject(o), live); err != nil {
		return client.IgnoreNotFound(err)
	}
	ns := live.GetNamespace()
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	now := metav1.NewTime(time.Now())
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{
			Name:      fmt.Sprintf("%s.%x", strings.ToLower(live.GetName()), time.Now().UnixNano()),
			Namespace: ns,
		},
		InvolvedObject: corev1.ObjectReference{
			APIVersion: live.GetAPIVersion(), Kind: live.GetKind(), Namespace: live.GetNamespace(),
			Name: live.GetName(), UID: live.GetUID(), ResourceVersion: live.GetResourceVersion(),
		},
		Reason:              reason,
		Message:             msg,
		Type:                corev1.EventTypeWarning,
		Source:              corev1.EventSource{Component: "lsstgen-sync"},
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               1,
		ReportingController: "lsst.org/lsstgen-sync",
		ReportingInstance:   "lsstgen-sync-" + s.opts.Instance,
	}
	return s.client.Create(ctx, ev)
}

// WebhookRejected leaves a Warning Event on the inventory ConfigMap for a webhook request
// refused for its signature: someone posts with the wrong secret, or GitHub's secret and
// the daemon's differ.
func (s *Syncer) WebhookRejected(ctx context.Context, reason string) {
	inv := &unstructured.Unstructured{}
	inv.SetAPIVersion("v1")
	inv.SetKind("ConfigMap")
	inv.SetNamespace(s.opts.Namespace)
	inv.SetName(InventoryName(s.opts.Instance))
	if err := s.event(ctx, inv, ReasonWebhookRejected, "webhook request refused: "+reason); err != nil {
		s.log.Warn("event not recorded", "instance", s.opts.Instance, "error", err.Error())
	}
}
