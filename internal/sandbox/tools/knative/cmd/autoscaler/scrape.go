package main

import (
	"os"

	"go.uber.org/zap"
	autoscalingv1alpha1 "knative.dev/serving/pkg/apis/autoscaling/v1alpha1"
	asmetrics "knative.dev/serving/pkg/autoscaler/metrics"
)

// sandboxScrapers leaves the revisions' simulated pods unscraped, as upstream
// leaves a metric without a scrape target: nothing serves their metrics, so
// every scrape failed, once a second per revision, with three log lines (one
// an error with its stack trace) and two HTTP requests (to the pod, then to
// the private Service). With 500 idle revisions that was 0.035 of a core and
// 0.8 GB of log an hour, for nothing a real cluster's idle revisions (scaled
// to zero, or answering from their queue-proxy) cost. The autoscaler's
// decisions are the same either way: no stat, no data to scale on, the scale
// left as it is.
//
// KNATIVE_SANDBOX_SCRAPE=true keeps upstream's scrapers.
func sandboxScrapers(upstream asmetrics.StatsScraperFactory) asmetrics.StatsScraperFactory {
	if os.Getenv("KNATIVE_SANDBOX_SCRAPE") == "true" {
		return upstream
	}
	return func(*autoscalingv1alpha1.Metric, *zap.SugaredLogger) (asmetrics.StatsScraper, error) {
		return nil, nil
	}
}
