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
// It first needs AWS credentials for SNS (the standard chain); without
// them it says so once and keeps the deliveries, looking again every
// credentialsRetry.
func (m *Main) deliver() {
	defer m.bg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-m.stop
		cancel()
	}()
	publisher, awsCfg, err := notify.NewSNS(ctx, m.Config.SNSEndpoint)
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
	d := &notify.Dispatcher{Store: m.Store, Publisher: publisher, Holder: m.node, Log: m.Log,
		Config: notify.Config{MaxAttempts: m.Config.NotificationAttempts}}
	d.Observer = m.deliveries
	d.Run(ctx)
}
