package sigv4

import "strings"

// Authorization is the content of an AWS4-HMAC-SHA256 Authorization header.
type Authorization struct {
	AccessKeyID   string
	Date          string // YYYYMMDD of the credential scope
	Region        string
	Service       string
	SignedHeaders []string // as sent; AWS clients send them lower-case and sorted
	Signature     string   // as sent; a valid one is 64 hex digits
}

// ParseAuthorization parses an Authorization header value of the form
//
//	AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, SignedHeaders=a;b;c, Signature=hex
//
// Parameters may be separated by commas, spaces or both, in any order;
// unknown parameters are ignored. On success AccessKeyID, Date, Region,
// Service and Signature are non-empty and SignedHeaders has at least one
// element. On failure the error is an *Error with AWS's code and message:
// CodeIncompleteSignature for a malformed header, CodeInvalidSignature for a
// credential scope not ending in aws4_request.
func ParseAuthorization(header string) (Authorization, error) {
	a, e := parse(header)
	if e != nil {
		return Authorization{}, e
	}
	if a.missing != 0 {
		return Authorization{}, incomplete(header, a.missing, false)
	}
	if e := a.checkCredential(); e != nil {
		return Authorization{}, e
	}
	if a.terminator != terminator {
		return Authorization{}, &Error{CodeInvalidSignature, msgTerminator(a.terminator)}
	}
	return a.public(), nil
}

// public returns a, whose credential checkCredential accepted, as an
// Authorization.
func (a *auth) public() Authorization {
	return Authorization{
		AccessKeyID:   a.accessKeyID,
		Date:          a.date,
		Region:        a.region,
		Service:       a.service,
		SignedHeaders: strings.Split(a.signedHeaders, ";"),
		Signature:     a.signature,
	}
}

// Bits of auth.missing: the parameters an Authorization header lacks.
const (
	missingCredential = 1 << iota
	missingSignature
	missingSignedHeaders

	missingAll = missingCredential | missingSignature | missingSignedHeaders
)

// auth is a parsed Authorization header, or the same parameters from a
// presigned URL's query. Its fields are substrings of the header (or of the
// decoded query values), so parsing a header does not allocate.
type auth struct {
	credential    string // Credential parameter
	signedHeaders string // SignedHeaders parameter, ;-separated
	signature     string // Signature parameter
	missing       int    // missing* bits of the absent parameters

	// Filled in by checkCredential from credential.
	accessKeyID string
	scope       string // date/region/service/terminator, as sent
	date        string
	region      string
	service     string
	terminator  string
}

// parse splits an Authorization header into its parameters. It fails only
// for an algorithm other than AWS4-HMAC-SHA256 that claims to be a version 4
// one, and for a parameter without an equal sign; absent or empty parameters
// are recorded in missing. A header that is not SigV4 at all lacks every
// parameter.
func parse(header string) (auth, *Error) {
	alg, params, _ := strings.Cut(header, " ")
	if alg != algorithm {
		if strings.HasPrefix(alg, "AWS4-") {
			return auth{}, &Error{CodeIncompleteSignature, "Unsupported AWS 'algorithm': '" + echo(alg) + "'."}
		}
		return auth{missing: missingAll}, nil
	}
	var a auth
	for params != "" {
		i := strings.IndexAny(params, " ,")
		token := params
		if i >= 0 {
			token, params = params[:i], params[i+1:]
		} else {
			params = ""
		}
		if token == "" {
			continue
		}
		name, value, ok := strings.Cut(token, "=")
		if !ok {
			return auth{}, &Error{CodeIncompleteSignature, "'" + echo(token) +
				"' not a valid key=value pair (missing equal-sign) in Authorization header: '" + echo(header) + "'."}
		}
		switch name {
		case "Credential":
			a.credential = value
		case "SignedHeaders":
			a.signedHeaders = value
		case "Signature":
			a.signature = value
		}
	}
	if a.credential == "" {
		a.missing |= missingCredential
	}
	if a.signature == "" {
		a.missing |= missingSignature
	}
	if a.signedHeaders == "" {
		a.missing |= missingSignedHeaders
	}
	return a, nil
}

// incomplete returns AWS's IncompleteSignature error for a header that lacks
// the parameters in missing and, if noDate, a request without a date.
func incomplete(header string, missing int, noDate bool) *Error {
	var msg string
	if missing&missingCredential != 0 {
		msg += "Authorization header requires 'Credential' parameter. "
	}
	if missing&missingSignature != 0 {
		msg += "Authorization header requires 'Signature' parameter. "
	}
	if missing&missingSignedHeaders != 0 {
		msg += "Authorization header requires 'SignedHeaders' parameter. "
	}
	if noDate {
		msg += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
	}
	return &Error{CodeIncompleteSignature, msg + "Authorization=" + echo(header)}
}

// checkCredential splits the Credential parameter into the access key id and
// the four elements of the credential scope, all of which must be non-empty.
func (a *auth) checkCredential() *Error {
	var parts [5]string
	rest := a.credential
	for i := range parts {
		var found bool
		parts[i], rest, found = strings.Cut(rest, "/")
		if parts[i] == "" || found != (i < len(parts)-1) {
			return &Error{CodeIncompleteSignature,
				"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" +
					echo(a.credential) + "'"}
		}
	}
	a.accessKeyID = parts[0]
	a.scope = a.credential[len(parts[0])+1:]
	a.date, a.region, a.service, a.terminator = parts[1], parts[2], parts[3], parts[4]
	return nil
}

// msgTerminator is AWS's message for a credential scope that ends in t
// rather than aws4_request.
func msgTerminator(t string) string {
	return "Credential should be scoped with a valid terminator: '" + terminator + "', not '" + echo(t) + "'. "
}

// maxEcho bounds what an error message repeats of a request's header or
// query parameter.
const maxEcho = 256

// echo returns s as an error message quotes it: whole up to maxEcho bytes,
// else cut there and followed by "...", so that a message never repeats a
// header (or query parameter) of many kilobytes.
func echo(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	return s[:maxEcho] + "..."
}
