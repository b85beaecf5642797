package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/incidentd/incidentd/internal/notify"
)

// credentialsRetry is how often a server without AWS credentials looks
// for them again.
const credentialsRetry = time.Minute

// deliver publishes the notifications the service queues, until Close.
// It first needs AWS credentials for SNS and EventBridge (the standard
// chain); without them it says so once and keeps the deliveries, looking
// again every credentialsRetry.
func (m *Main) deliver() {
	defer m.bg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-m.stop
		cancel()
	}()
	awsCfg, err := notify.LoadAWSConfig(ctx)
	if err != nil {
		notice(m.Log, slog.LevelWarn, "SNS is not configured; notifications are kept until it is", "err", err)
		return
	}
	told := false
	for {
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := awsCfg.Credentials.Retrieve(rctx)
		rcancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		if !told {
			notice(m.Log, slog.LevelWarn, "SNS is not configured: no AWS credentials; notifications are kept until there are",
				"err", err)
			told = true
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(credentialsRetry):
		}
	}
	endpoint := m.Config.SNSEndpoint
	if endpoint == "" {
		endpoint = "the SDK's (AWS_ENDPOINT_URL_SNS, AWS_ENDPOINT_URL, or AWS)"
	}
	notice(m.Log, slog.LevelInfo, "delivering notifications to SNS", "endpoint", endpoint)
	if bus := m.Config.Service.EventBus; bus != "" {
		notice(m.Log, slog.LevelInfo, "putting the events of API calls on EventBridge", "event_bus", bus,
			"endpoint", "the SDK's (AWS_ENDPOINT_URL_EVENTBRIDGE, AWS_ENDPOINT_URL, or AWS)")
	}
	// Events already queued for a bus are put on it even when the server
	// no longer names one.
	publisher := notify.Router{SNS: notify.NewSNS(awsCfg, m.Config.SNSEndpoint), EventBridge: notify.NewEventBridge(awsCfg, m.Config.Service.EventRegion())}
	d := &notify.Dispatcher{Store: m.Store, Publisher: publisher, Holder: m.node, Log: m.Log,
		Config: notify.Config{MaxAttempts: m.Config.NotificationAttempts}}
	d.Observer = m.deliveries
	d.Wake = m.wake
	d.Run(ctx)
}
