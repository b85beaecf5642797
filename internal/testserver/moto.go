package testserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Moto is a moto_server, a real local SNS, SQS and EventBridge, that a
// test started.
type Moto struct {
	Endpoint    string // http://127.0.0.1:PORT
	SNS         *sns.Client
	SQS         *sqs.Client
	EventBridge *eventbridge.Client
	cmd         *exec.Cmd
	t           testing.TB
}

// MotoCredentials are the credentials a server that publishes to moto
// uses (moto takes any).
var MotoCredentials = []string{"AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_REGION=" + Region}

// UseMotoCredentials sets MotoCredentials in the environment for the rest
// of the test, where the AWS SDK's standard chain of an in-process server
// finds them.
func UseMotoCredentials(t testing.TB) {
	for _, kv := range MotoCredentials {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// StartMoto starts moto_server on a free port for the test and stops it
// when the test ends. Without moto_server the test stops (MissingTool).
func StartMoto(t testing.TB) *Moto {
	t.Helper()
	path := RequireTool(t, "moto_server", "pip install 'moto[server]'")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	m := &Moto{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), t: t}
	m.cmd = exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(m.Endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not answer on %s: %v", m.Endpoint, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	creds := credentials.NewStaticCredentialsProvider("testing", "testing", "")
	m.SNS = sns.New(sns.Options{Region: Region, BaseEndpoint: aws.String(m.Endpoint), Credentials: creds})
	m.SQS = sqs.New(sqs.Options{Region: Region, BaseEndpoint: aws.String(m.Endpoint), Credentials: creds})
	m.EventBridge = eventbridge.New(eventbridge.Options{Region: Region, BaseEndpoint: aws.String(m.Endpoint), Credentials: creds})
	return m
}

// PinToCPU keeps every thread of moto_server on the CPU cpu (with
// taskset), so that a benchmark pinned to the other CPUs does not share
// them with it.
func (m *Moto) PinToCPU(cpu int) {
	m.t.Helper()
	if out, err := exec.Command("taskset", "-a", "-p", "-c", strconv.Itoa(cpu), strconv.Itoa(m.cmd.Process.Pid)).CombinedOutput(); err != nil {
		m.t.Fatalf("taskset moto_server: %v: %s", err, out)
	}
}

// Stop stops moto_server (its state is lost).
func (m *Moto) Stop() {
	if m.cmd.Process != nil && m.cmd.ProcessState == nil {
		syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		m.cmd.Wait()
	}
}

// TopicWithQueue creates the SNS topic name and an SQS queue subscribed to
// it (raw message delivery off: the queue receives SNS's envelope), and
// returns the topic's ARN and the queue's URL.
func (m *Moto) TopicWithQueue(name string) (topic, queue string) {
	m.t.Helper()
	ctx := context.Background()
	tout, err := m.SNS.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		m.t.Fatalf("CreateTopic %s: %v", name, err)
	}
	url, arn := m.queue(name + "-queue")
	if _, err := m.SNS.Subscribe(ctx, &sns.SubscribeInput{TopicArn: tout.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(arn)}); err != nil {
		m.t.Fatalf("Subscribe: %v", err)
	}
	return aws.ToString(tout.TopicArn), url
}

// queue creates the SQS queue name and returns its URL and ARN.
func (m *Moto) queue(name string) (url, arn string) {
	m.t.Helper()
	ctx := context.Background()
	qout, err := m.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		m.t.Fatalf("CreateQueue %s: %v", name, err)
	}
	attrs, err := m.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: qout.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		m.t.Fatal(err)
	}
	return aws.ToString(qout.QueueUrl), attrs.Attributes["QueueArn"]
}

// RuleWithQueue creates, on the event bus bus (created when it is not
// "default"), the rule name of the event pattern pattern (JSON) with an SQS
// queue as its target, and returns the queue's URL.
func (m *Moto) RuleWithQueue(bus, name, pattern string) string {
	m.t.Helper()
	ctx := context.Background()
	if bus != "default" {
		if _, err := m.EventBridge.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(bus)}); err != nil && !strings.Contains(err.Error(), "ResourceAlreadyExists") {
			m.t.Fatalf("CreateEventBus %s: %v", bus, err)
		}
	}
	url, arn := m.queue(name + "-queue")
	if _, err := m.EventBridge.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(name), EventBusName: aws.String(bus), EventPattern: aws.String(pattern)}); err != nil {
		m.t.Fatalf("PutRule %s: %v", name, err)
	}
	if _, err := m.EventBridge.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), EventBusName: aws.String(bus),
		Targets: []ebtypes.Target{{Id: aws.String("queue"), Arn: aws.String(arn)}}}); err != nil {
		m.t.Fatalf("PutTargets %s: %v", name, err)
	}
	return url
}

// ReceiveBodies waits up to timeout for n messages on queue, deleting
// each, and returns their bodies (fewer when the time ran out).
func (m *Moto) ReceiveBodies(queue string, n int, timeout time.Duration) []string {
	m.t.Helper()
	var out []string
	for deadline := time.Now().Add(timeout); len(out) < n && time.Now().Before(deadline); {
		out = append(out, m.receiveBodiesOnce(queue)...)
	}
	return out
}

// receiveBodiesOnce asks queue once for up to 10 messages, waiting up to
// a second for the first, deletes them and returns their bodies.
func (m *Moto) receiveBodiesOnce(queue string) []string {
	m.t.Helper()
	ctx := context.Background()
	r, err := m.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queue), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil {
		m.t.Fatalf("ReceiveMessage: %v", err)
	}
	var out []string
	var received []sqstypes.DeleteMessageBatchRequestEntry
	for i, msg := range r.Messages {
		out = append(out, aws.ToString(msg.Body))
		received = append(received, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: msg.ReceiptHandle})
	}
	if len(received) > 0 {
		if _, err := m.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(queue), Entries: received}); err != nil {
			m.t.Fatal(err)
		}
	}
	return out
}

// SNSMessage is what an SQS queue subscribed to a topic receives: SNS's
// envelope around the published message.
type SNSMessage struct {
	Type              string
	MessageID         string `json:"MessageId"`
	TopicArn          string
	Message           string
	MessageAttributes map[string]struct{ Type, Value string }
}

// Receive waits up to timeout for n messages on queue, deleting each, and
// returns those that came (fewer when the time ran out). It drops the
// test messages a topic receives when a response plan comes to name it
// (ReceiveWithTests keeps them).
func (m *Moto) Receive(queue string, n int, timeout time.Duration) []SNSMessage {
	m.t.Helper()
	return m.ReceiveWithTests(queue, n, timeout, true)
}

// ReceiveWithTests is Receive, also returning test messages unless
// dropTests.
func (m *Moto) ReceiveWithTests(queue string, n int, timeout time.Duration, dropTests bool) []SNSMessage {
	m.t.Helper()
	var out []SNSMessage
	deadline := time.Now().Add(timeout)
	for len(out) < n && time.Now().Before(deadline) {
		for _, msg := range m.ReceiveOnce(queue) {
			if dropTests && strings.Contains(msg.Message, `"detail-type":"`+TestMessageType+`"`) {
				continue
			}
			out = append(out, msg)
		}
	}
	return out
}

// TestMessageType is the detail type of the test messages incidentd
// publishes to a topic a response plan comes to name.
const TestMessageType = "SSM Incident Manager Test Message"

// ReceiveOnce asks queue once for up to 10 messages, waiting up to a
// second for the first, deletes them and returns them.
func (m *Moto) ReceiveOnce(queue string) []SNSMessage {
	m.t.Helper()
	var out []SNSMessage
	for _, body := range m.receiveBodiesOnce(queue) {
		var sm SNSMessage
		if err := json.Unmarshal([]byte(body), &sm); err != nil {
			m.t.Fatalf("a message that is not SNS's envelope: %s", body)
		}
		out = append(out, sm)
	}
	return out
}

// String names the moto for messages.
func (m *Moto) String() string { return fmt.Sprintf("moto_server at %s", m.Endpoint) }
