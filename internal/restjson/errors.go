package restjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/incidentd/incidentd/internal/domain"
	"github.com/incidentd/incidentd/internal/model"
	"github.com/incidentd/incidentd/internal/sigv4"
)

// errorStatus is the one table from AWS error code to HTTP status. The
// modelled errors take their status from the official model; the others are
// the protocol's own (authentication, serialization, routing).
var errorStatus = map[string]int{
	"ValidationException":                 http.StatusBadRequest,
	"SerializationException":              http.StatusBadRequest,
	"AccessDeniedException":               http.StatusForbidden,
	"MissingAuthenticationTokenException": http.StatusForbidden,
	"UnrecognizedClientException":         http.StatusForbidden,
	"InvalidSignatureException":           http.StatusForbidden,
	"IncompleteSignatureException":        http.StatusForbidden,
	"ResourceNotFoundException":           http.StatusNotFound,
	"UnknownOperationException":           http.StatusNotFound,
	"ConflictException":                   http.StatusConflict,
	"ServiceQuotaExceededException":       http.StatusPaymentRequired,
	"RequestEntityTooLargeException":      http.StatusRequestEntityTooLarge,
	"RequestHeaderSectionTooLarge":        http.StatusRequestHeaderFieldsTooLarge,
	"RequestTimeoutException":             http.StatusRequestTimeout,
	"BadRequestException":                 http.StatusBadRequest,
	"NotImplementedException":             http.StatusNotImplemented,
	"ExpectationFailedException":          http.StatusExpectationFailed,
	"HTTPVersionNotSupportedException":    http.StatusHTTPVersionNotSupported,
	"ThrottlingException":                 http.StatusTooManyRequests,
	"InternalServerException":             http.StatusInternalServerError,
}

// authenticationCodes are the errors of a request that did not authenticate.
var authenticationCodes = map[string]bool{
	"MissingAuthenticationTokenException": true,
	"UnrecognizedClientException":         true,
	"InvalidSignatureException":           true,
	"IncompleteSignatureException":        true,
}

// serviceCode is the serviceCode member of quota and throttling errors.
const serviceCode = "ssm-incidents"

// wireError is the JSON body of an error answer: message plus the error's
// modelled members.
type wireError struct {
	code               string
	Message            string           `json:"message"`
	ResourceIdentifier string           `json:"resourceIdentifier,omitempty"`
	ResourceType       string           `json:"resourceType,omitempty"`
	RetryAfter         *model.Timestamp `json:"retryAfter,omitempty"`
	QuotaCode          string           `json:"quotaCode,omitempty"`
	ServiceCode        string           `json:"serviceCode,omitempty"`
	internal           error            // logged, never sent
	retryAfter         time.Duration    // sent as x-amz-retry-after and Retry-After
}

// protocolError is an error of the transport itself.
type protocolError struct{ code, message string }

func (e *protocolError) Error() string { return e.code + ": " + e.message }

// toWire maps any error to its AWS shape. Unknown errors become an
// InternalServerException with a fixed message, so internals never leak.
func toWire(err error) *wireError {
	var (
		pe   *protocolError
		sv   *sigv4.Error
		mv   *model.ValidationError
		dv   *domain.ValidationError
		nf   *domain.NotFoundError
		cf   *domain.ConflictError
		qe   *domain.QuotaExceededError
		th   *domain.ThrottlingError
		ad   *domain.AccessDeniedError
		body = &wireError{}
	)
	switch {
	case errors.As(err, &pe):
		body.code, body.Message = pe.code, pe.message
	case errors.As(err, &sv):
		body.code, body.Message = sv.Code, sv.Message
	case errors.As(err, &mv):
		body.code, body.Message = "ValidationException", mv.Error()
	case errors.As(err, &dv):
		body.code, body.Message = "ValidationException", dv.Message
	case errors.As(err, &nf):
		body.code, body.Message = "ResourceNotFoundException", nf.Message
		body.ResourceIdentifier, body.ResourceType = nf.ResourceIdentifier, string(nf.ResourceType)
	case errors.As(err, &cf):
		body.code, body.Message = "ConflictException", cf.Message
		body.ResourceIdentifier, body.ResourceType = cf.ResourceIdentifier, string(cf.ResourceType)
		if cf.RetryAfter != nil {
			body.RetryAfter = model.NewTimestamp(*cf.RetryAfter)
		}
	case errors.As(err, &qe):
		body.code, body.Message = "ServiceQuotaExceededException", qe.Message
		body.ResourceIdentifier, body.ResourceType = qe.ResourceIdentifier, string(qe.ResourceType)
		body.QuotaCode, body.ServiceCode = qe.QuotaCode, serviceCode
	case errors.As(err, &th):
		body.code, body.Message = "ThrottlingException", th.Message
		body.QuotaCode, body.ServiceCode = th.QuotaCode, serviceCode
		body.retryAfter = th.RetryAfter
	case errors.As(err, &ad):
		body.code, body.Message = "AccessDeniedException", ad.Message
	default:
		body.code, body.Message, body.internal = "InternalServerException", "An internal error occurred. Retry the request.", err
	}
	return body
}

// writeError writes err as an AWS error answer to r and returns its status
// and its AWS error code.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, requestID string, err error) (status int, code string) {
	body := toWire(err)
	status = body.status()
	if body.internal != nil {
		log.Error("internal error", "request_id", requestID, "err", body.internal)
	}
	h := w.Header()
	h.Set("x-amzn-ErrorType", body.code)
	if authenticationCodes[body.code] {
		// A client that cannot authenticate keeps no connection open.
		h.Set("Connection", "close")
	}
	if body.retryAfter > 0 {
		// The AWS SDKs read milliseconds from x-amz-retry-after; other
		// HTTP clients read whole seconds from Retry-After.
		h.Set("x-amz-retry-after", strconv.FormatInt(body.retryAfter.Milliseconds(), 10))
		h.Set("Retry-After", strconv.FormatInt(int64((body.retryAfter+time.Second-1)/time.Second), 10))
	}
	b, _ := json.Marshal(body)
	writeBody(w, r, status, b, log, requestID)
	return status, body.code
}

// status is the HTTP status of the error's code.
func (e *wireError) status() int {
	status, ok := errorStatus[e.code]
	if !ok {
		panic(fmt.Sprintf("restjson: error code %s has no status", e.code))
	}
	return status
}
