package controller

import (
	"testing"
	"time"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPollInterval(t *testing.T) {
	now := time.Now()
	failedAt := func(ago time.Duration) xpv2.Condition {
		c := xpv2.Unavailable().WithMessage("ResolveFailed: services.serving.knative.dev \"hello\" not found")
		c.LastTransitionTime = metav1.NewTime(now.Add(-ago))
		return c
	}
	const readyPoll, poll = 2 * time.Second, time.Minute
	for _, tc := range []struct {
		name      string
		ready     xpv2.Condition
		readyPoll time.Duration
		watched   bool
		want      time.Duration
	}{
		{"no verdict yet", xpv2.Condition{Type: xpv2.TypeReady, Status: corev1.ConditionUnknown}, readyPoll, false, readyPoll},
		{"creating", xpv2.Creating(), readyPoll, false, readyPoll},
		{"ready", xpv2.Available(), readyPoll, false, poll},
		{"just failed: Knative may still resolve it", failedAt(5 * time.Second), readyPoll, false, readyPoll},
		{"failed a while ago", failedAt(2 * failureSettling), readyPoll, false, poll},
		{"ready poll off", xpv2.Creating(), 0, false, poll},
		{"ready poll longer than the poll", xpv2.Creating(), 2 * poll, false, poll},
		{"creating, its object watched: the verdict comes by the watch", xpv2.Creating(), readyPoll, true, poll},
		{"just failed, its object watched", failedAt(5 * time.Second), readyPoll, true, poll},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pollInterval(tc.ready, tc.readyPoll, poll, tc.watched, now); got != tc.want {
				t.Errorf("pollInterval = %s, want %s", got, tc.want)
			}
		})
	}
}
