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
		want      time.Duration
	}{
		{"no verdict yet", xpv2.Condition{Type: xpv2.TypeReady, Status: corev1.ConditionUnknown}, readyPoll, readyPoll},
		{"creating", xpv2.Creating(), readyPoll, readyPoll},
		{"ready", xpv2.Available(), readyPoll, poll},
		{"just failed: Knative may still resolve it", failedAt(5 * time.Second), readyPoll, readyPoll},
		{"failed a while ago", failedAt(2 * failureSettling), readyPoll, poll},
		{"ready poll off", xpv2.Creating(), 0, poll},
		{"ready poll longer than the poll", xpv2.Creating(), 2 * poll, poll},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pollInterval(tc.ready, tc.readyPoll, poll, now); got != tc.want {
				t.Errorf("pollInterval = %s, want %s", got, tc.want)
			}
		})
	}
}
