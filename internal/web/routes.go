package web

import (
	"net/http"

	"github.com/sonoivu/vanthu"
)

var (
	anyRole  = vanthu.Roles
	editors  = []vanthu.Role{vanthu.RoleAdmin, vanthu.RoleClerk}
	admins   = []vanthu.Role{vanthu.RoleAdmin}
	auditors = []vanthu.Role{vanthu.RoleAdmin, vanthu.RoleClerk, vanthu.RoleViewer}
	// inspectors create and edit inspection records; everyone reads them.
	inspectors = []vanthu.Role{vanthu.RoleAdmin, vanthu.RoleInspector}
)

// routeTable is the single list of routes with their roles. Keep
// docs/openapi.yaml in step with the /api/v1 entries (a test checks).
func (s *Server) routeTable() []Route {
	mount := func(h http.Handler) handlerFunc {
		return func(w http.ResponseWriter, r *http.Request) error { h.ServeHTTP(w, r); return nil }
	}
	rs := []Route{
		{Method: "GET", Pattern: "/healthz", Summary: "Process is alive", handler: s.handleHealthz},
		{Method: "GET", Pattern: "/readyz", Summary: "Database and queue reachable", handler: s.handleReadyz},
		{Method: "GET", Pattern: "/login", Summary: "Login form", page: true, handler: s.handleLoginForm},
		{Method: "POST", Pattern: "/login", Summary: "Log in", page: true, handler: s.handleLogin},
		{Method: "POST", Pattern: "/logout", Summary: "Log out", page: true, handler: s.handleLogout},
		{Method: "GET", Pattern: "/static/", Summary: "Stylesheet and scripts",
			handler: mount(http.StripPrefix("/static/", http.FileServerFS(s.static)))},

		{Method: "GET", Pattern: "/api/v1/me", Auth: AuthAPI, Roles: anyRole, Summary: "Current user", handler: s.apiMe},
		{Method: "GET", Pattern: "/api/v1/units", Auth: AuthAPI, Roles: anyRole, Summary: "List units", handler: s.apiListUnits},
		{Method: "POST", Pattern: "/api/v1/units", Auth: AuthAPI, Roles: editors, Summary: "Create a unit", handler: s.apiCreateUnit},
		{Method: "GET", Pattern: "/api/v1/units/{id}", Auth: AuthAPI, Roles: anyRole, Summary: "Get a unit", handler: s.apiGetUnit},
		{Method: "PUT", Pattern: "/api/v1/units/{id}", Auth: AuthAPI, Roles: editors, Summary: "Replace a unit", handler: s.apiUpdateUnit},
		{Method: "POST", Pattern: "/api/v1/units/{id}/deactivate", Auth: AuthAPI, Roles: editors, Summary: "Deactivate a unit", handler: s.apiSetUnitActive(false)},
		{Method: "POST", Pattern: "/api/v1/units/{id}/activate", Auth: AuthAPI, Roles: editors, Summary: "Activate a unit", handler: s.apiSetUnitActive(true)},
		{Method: "POST", Pattern: "/api/v1/units/import", Auth: AuthAPI, Roles: editors, Summary: "Import units from CSV or XLSX", upload: true, handler: s.apiImportUnits},
		{Method: "GET", Pattern: "/api/v1/users", Auth: AuthAPI, Roles: admins, Summary: "List users", handler: s.apiListUsers},
		{Method: "POST", Pattern: "/api/v1/users", Auth: AuthAPI, Roles: admins, Summary: "Create a user", handler: s.apiCreateUser},
		{Method: "GET", Pattern: "/api/v1/tokens", Auth: AuthAPI, Roles: anyRole, Summary: "List own API tokens", handler: s.apiListTokens},
		{Method: "POST", Pattern: "/api/v1/tokens", Auth: AuthAPI, Roles: anyRole, Summary: "Create an API token", handler: s.apiCreateToken},
		{Method: "DELETE", Pattern: "/api/v1/tokens/{id}", Auth: AuthAPI, Roles: anyRole, Summary: "Revoke an own API token", handler: s.apiDeleteToken},
		{Method: "GET", Pattern: "/api/v1/events", Auth: AuthAPI, Roles: auditors, Summary: "Audit events of a subject", handler: s.apiListEvents},
		{Method: "GET", Pattern: "/api/v1/documents", Auth: AuthAPI, Roles: anyRole, Summary: "List documents", handler: s.apiListDocuments},
		{Method: "POST", Pattern: "/api/v1/documents", Auth: AuthAPI, Roles: editors, Summary: "Create a draft", handler: s.apiCreateDocument},
		{Method: "GET", Pattern: "/api/v1/documents/{id}", Auth: AuthAPI, Roles: anyRole, Summary: "Get a document", handler: s.apiGetDocument},
		{Method: "PUT", Pattern: "/api/v1/documents/{id}", Auth: AuthAPI, Roles: editors, Summary: "Replace a draft", handler: s.apiUpdateDocument},
		{Method: "POST", Pattern: "/api/v1/documents/{id}/preview", Auth: AuthAPI, Roles: editors, Summary: "Preview a draft as PDF", handler: s.apiPreviewDocument},
		{Method: "POST", Pattern: "/api/v1/documents/{id}/issue", Auth: AuthAPI, Roles: editors, Summary: "Number, issue and send a draft", handler: s.apiIssueDocument},
		{Method: "GET", Pattern: "/api/v1/documents/{id}/pdf", Auth: AuthAPI, Roles: anyRole, Summary: "Issued PDF", handler: s.apiDocumentPDF},
		{Method: "GET", Pattern: "/api/v1/documents/{id}/dispatches", Auth: AuthAPI, Roles: anyRole, Summary: "Dispatches and progress", handler: s.apiListDispatches},
		{Method: "GET", Pattern: "/api/v1/documents/{id}/tracking.xlsx", Auth: AuthAPI, Roles: anyRole, Summary: "Tracking sheet (XLSX)", handler: s.apiTrackingSheet},
		{Method: "GET", Pattern: "/api/v1/documents/{id}/receipts", Auth: AuthAPI, Roles: anyRole, Summary: "Receipt evidence of every unit", handler: s.apiReceipts},
		{Method: "GET", Pattern: "/api/v1/documents/{id}/receipts.pdf", Auth: AuthAPI, Roles: anyRole, Summary: "Receipt report (PDF)", handler: s.apiReceiptsPDF},
		{Method: "GET", Pattern: "/api/v1/documents/{id}/receipts.xlsx", Auth: AuthAPI, Roles: anyRole, Summary: "Receipt report (XLSX)", handler: s.apiReceiptsXLSX},
		{Method: "POST", Pattern: "/api/v1/documents/{id}/resend", Auth: AuthAPI, Roles: editors, Summary: "Resend to the failed units", handler: s.apiResend},
		{Method: "POST", Pattern: "/api/v1/documents/{id}/remind", Auth: AuthAPI, Roles: editors, Summary: "Remind the units that have not acknowledged", handler: s.apiRemind},
		{Method: "GET", Pattern: "/api/v1/inbound", Auth: AuthAPI, Roles: auditors, Summary: "Mail read from the office mailbox", handler: s.apiListInbound},
		{Method: "GET", Pattern: "/api/v1/inbound/{id}", Auth: AuthAPI, Roles: auditors, Summary: "One message read from the office mailbox", handler: s.apiGetInbound},
		{Method: "GET", Pattern: "/api/v1/inbound/{id}/raw", Auth: AuthAPI, Roles: auditors, Summary: "Source of a message (message/rfc822)", handler: s.apiInboundRaw},
		{Method: "POST", Pattern: "/api/v1/inbound/{id}/reviewed", Auth: AuthAPI, Roles: editors, Summary: "Mark an unmatched message as looked at", handler: s.apiInboundReviewed},
		{Method: "POST", Pattern: "/api/v1/admin/test-mail", Auth: AuthAPI, Roles: admins, Summary: "Send a test mail", handler: s.apiTestMail},
		{Method: "GET", Pattern: "/api/v1/inspections", Auth: AuthAPI, Roles: anyRole, Summary: "List inspections", handler: s.apiListInspections},
		{Method: "GET", Pattern: "/api/v1/inspections.xlsx", Auth: AuthAPI, Roles: anyRole, Summary: "Export the filtered inspection list (XLSX)", handler: s.apiInspectionsXLSX},
		{Method: "POST", Pattern: "/api/v1/inspections", Auth: AuthAPI, Roles: inspectors, Summary: "Start an inspection record (draft)", handler: s.apiCreateInspection},
		{Method: "GET", Pattern: "/api/v1/inspections/{id}", Auth: AuthAPI, Roles: anyRole, Summary: "Get an inspection record", handler: s.apiGetInspection},
		{Method: "GET", Pattern: "/api/v1/inspections/{id}/findings.xlsx", Auth: AuthAPI, Roles: anyRole, Summary: "Persons in violation of an inspection (XLSX)", handler: s.apiFindingsXLSX},
		{Method: "PUT", Pattern: "/api/v1/inspections/{id}", Auth: AuthAPI, Roles: inspectors, Summary: "Save a draft inspection record (409 on a stale revision)", handler: s.apiSaveInspection},
		{Method: "POST", Pattern: "/api/v1/inspections/{id}/correct", Auth: AuthAPI, Roles: inspectors, Summary: "Start the correction of finalized minutes", handler: s.apiCorrectInspection},
		{Method: "POST", Pattern: "/api/v1/inspections/{id}/finalize", Auth: AuthAPI, Roles: inspectors, Summary: "Make the signed minutes of a complete record", handler: s.apiFinalizeInspection},
		{Method: "GET", Pattern: "/api/v1/catalog", Auth: AuthAPI, Roles: anyRole, Summary: "Violation and handling catalogs", handler: s.apiListCatalog},
		{Method: "PUT", Pattern: "/api/v1/catalog/{kind}/{code}", Auth: AuthAPI, Roles: admins, Summary: "Create or change a catalog entry", handler: s.apiSaveCatalogEntry},
		{Method: "GET", Pattern: "/api/v1/reports", Auth: AuthAPI, Roles: auditors, Summary: "List quarterly reports", handler: s.apiListReports},
		{Method: "POST", Pattern: "/api/v1/reports", Auth: AuthAPI, Roles: editors, Summary: "Generate the report of a period (202; a task does the work)", handler: s.apiCreateReport},
		{Method: "GET", Pattern: "/api/v1/reports/{id}", Auth: AuthAPI, Roles: auditors, Summary: "Get a report with its figures and progress", handler: s.apiGetReport},
		{Method: "POST", Pattern: "/api/v1/reports/{id}/regenerate", Auth: AuthAPI, Roles: editors, Summary: "Compute a report's figures again", handler: s.apiRegenerateReport},
		{Method: "PUT", Pattern: "/api/v1/reports/{id}/narrative", Auth: AuthAPI, Roles: editors, Summary: "Write a report's assessment, next tasks and proposals", handler: s.apiSaveNarrative},
		{Method: "GET", Pattern: "/api/v1/reports/{id}/pdf", Auth: AuthAPI, Roles: auditors, Summary: "The report as PDF (issued, or a preview of the draft)", handler: s.apiReportPDF},
		{Method: "GET", Pattern: "/api/v1/reports/{id}/xlsx", Auth: AuthAPI, Roles: auditors, Summary: "The report's annex workbook (XLSX)", handler: s.apiReportXLSX},
		{Method: "GET", Pattern: "/api/v1/webhooks", Auth: AuthAPI, Roles: admins, Summary: "List webhooks", handler: s.apiListWebhooks},
		{Method: "POST", Pattern: "/api/v1/webhooks", Auth: AuthAPI, Roles: admins, Summary: "Create a webhook", handler: s.apiCreateWebhook},
		{Method: "POST", Pattern: "/api/v1/webhooks/{id}/deactivate", Auth: AuthAPI, Roles: admins, Summary: "Stop a webhook", handler: s.apiDeactivateWebhook},
		{Method: "GET", Pattern: "/api/v1/webhooks/{id}/deliveries", Auth: AuthAPI, Roles: admins, Summary: "Delivery log of a webhook", handler: s.apiListDeliveries},
		{Method: "POST", Pattern: "/api/v1/webhook-deliveries/{id}/replay", Auth: AuthAPI, Roles: admins, Summary: "Send a webhook delivery again", handler: s.apiReplayDelivery},

		{Method: "GET", Pattern: "/{$}", Summary: "Home: redirects to the units", handler: s.pageHome},
		{Method: "GET", Pattern: "/units", Auth: AuthSession, Roles: anyRole, Summary: "Units page", page: true, handler: s.pageUnits},
		{Method: "POST", Pattern: "/units/import", Auth: AuthSession, Roles: editors, Summary: "Import units from a file", page: true, upload: true, handler: s.pageImportUnits},
		{Method: "GET", Pattern: "/documents", Auth: AuthSession, Roles: anyRole, Summary: "Documents page", page: true, handler: s.pageDocuments},
		{Method: "GET", Pattern: "/documents/new", Auth: AuthSession, Roles: editors, Summary: "New draft form", page: true, handler: s.pageNewDocument},
		{Method: "POST", Pattern: "/documents/new", Auth: AuthSession, Roles: editors, Summary: "Create a draft", page: true, handler: s.pageCreateDocument},
		{Method: "GET", Pattern: "/documents/{id}", Auth: AuthSession, Roles: anyRole, Summary: "Draft form or issued document with its progress", page: true, handler: s.pageDocument},
		{Method: "POST", Pattern: "/documents/{id}", Auth: AuthSession, Roles: editors, Summary: "Save a draft", page: true, handler: s.pageSaveDocument},
		{Method: "POST", Pattern: "/documents/{id}/preview", Auth: AuthSession, Roles: editors, Summary: "Save a draft and preview it as PDF", page: true, handler: s.pagePreviewDocument},
		{Method: "POST", Pattern: "/documents/{id}/issue", Auth: AuthSession, Roles: editors, Summary: "Save and issue a draft", page: true, handler: s.pageIssueDocument},
		{Method: "POST", Pattern: "/documents/{id}/resend", Auth: AuthSession, Roles: editors, Summary: "Resend to the failed units", page: true, handler: s.pageResend},
		{Method: "GET", Pattern: "/inbound", Auth: AuthSession, Roles: auditors, Summary: "Mail of the office mailbox to review", page: true, handler: s.pageInbound},
		{Method: "GET", Pattern: "/inbound/{id}", Auth: AuthSession, Roles: auditors, Summary: "One message of the office mailbox", page: true, handler: s.pageInboundView},
		{Method: "POST", Pattern: "/inbound/{id}/reviewed", Auth: AuthSession, Roles: editors, Summary: "Mark a message as looked at", page: true, handler: s.pageInboundReviewed},
		{Method: "POST", Pattern: "/documents/{id}/remind", Auth: AuthSession, Roles: editors, Summary: "Remind the units now", page: true, handler: s.pageRemind},
		{Method: "GET", Pattern: "/inspections", Auth: AuthSession, Roles: anyRole, Summary: "Inspection records", page: true, handler: s.pageInspections},
		{Method: "GET", Pattern: "/inspections/new", Auth: AuthSession, Roles: inspectors, Summary: "Start an inspection record", page: true, handler: s.pageNewInspection},
		{Method: "POST", Pattern: "/inspections/new", Auth: AuthSession, Roles: inspectors, Summary: "Create an inspection record", page: true, handler: s.pageCreateInspection},
		{Method: "GET", Pattern: "/inspections/{id}", Auth: AuthSession, Roles: anyRole, Summary: "Inspector's form (draft) or the record", page: true, handler: s.pageInspection},
		{Method: "POST", Pattern: "/inspections/{id}/correct", Auth: AuthSession, Roles: inspectors, Summary: "Start the correction of finalized minutes", page: true, handler: s.pageCorrectInspection},
		{Method: "POST", Pattern: "/inspections/{id}/finalize", Auth: AuthSession, Roles: inspectors, Summary: "Make the signed minutes of a record", page: true, handler: s.pageFinalizeInspection},
		{Method: "GET", Pattern: "/reports", Auth: AuthSession, Roles: auditors, Summary: "Quarterly reports and the form to generate one", page: true, handler: s.pageReports},
		{Method: "POST", Pattern: "/reports", Auth: AuthSession, Roles: editors, Summary: "Generate the report of a period", page: true, handler: s.pageCreateReport},
		{Method: "GET", Pattern: "/reports/{id}", Auth: AuthSession, Roles: auditors, Summary: "A report: progress, figures, narrative", page: true, handler: s.pageReport},
		{Method: "POST", Pattern: "/reports/{id}/narrative", Auth: AuthSession, Roles: editors, Summary: "Save a report's narrative", page: true, handler: s.pageSaveNarrative},
		{Method: "POST", Pattern: "/reports/{id}/regenerate", Auth: AuthSession, Roles: editors, Summary: "Compute a report's figures again", page: true, handler: s.pageRegenerateReport},
		{Method: "GET", Pattern: "/admin/webhooks", Auth: AuthSession, Roles: admins, Summary: "Webhooks and their latest deliveries", page: true, handler: s.pageWebhooks},
		{Method: "POST", Pattern: "/admin/webhooks", Auth: AuthSession, Roles: admins, Summary: "Add a webhook", page: true, handler: s.pageCreateWebhook},
		{Method: "POST", Pattern: "/admin/webhooks/{id}/deactivate", Auth: AuthSession, Roles: admins, Summary: "Stop a webhook", page: true, handler: s.pageDeactivateWebhook},
		{Method: "POST", Pattern: "/admin/webhook-deliveries/{id}/replay", Auth: AuthSession, Roles: admins, Summary: "Send a webhook delivery again", page: true, handler: s.pageReplayDelivery},

		// Public: the token in the link is the credential of the unit.
		{Method: "GET", Pattern: "/a/{token}", Summary: "Acknowledgement page of a unit", page: true, handler: s.pageAck},
		{Method: "POST", Pattern: "/a/{token}", Summary: "Acknowledge receipt", page: true, handler: s.pageAckConfirm},
		{Method: "GET", Pattern: "/a/{token}/van-ban.pdf", Summary: "Download the document (marks it read)", page: true, handler: s.ackPDF},
		{Method: "POST", Pattern: "/api/v1/acks/{token}", Summary: "A unit's document system reports receipt, reading or acknowledgement", handler: s.apiAck},

		// Public: whoever received signed minutes may check them; the
		// signer's certificate chain, not a login, is what is trusted.
		{Method: "GET", Pattern: "/xac-minh", Summary: "Signature verification form", page: true, handler: s.pageVerifyForm},
		{Method: "POST", Pattern: "/xac-minh", Summary: "Verify the signatures of an uploaded PDF", page: true, upload: true, handler: s.pageVerify},
		{Method: "POST", Pattern: "/api/v1/verify", Summary: "Verify the signatures of a PDF", upload: true, handler: s.apiVerify},
	}
	if s.cfg.Metrics != nil {
		rs = append(rs, Route{Method: "GET", Pattern: "/metrics", Summary: "Prometheus metrics", handler: mount(s.cfg.Metrics)})
	}
	if s.cfg.QueueMonitor != nil {
		// The monitor's own UI calls its API with POST and DELETE, so the
		// mount answers every method.
		rs = append(rs, Route{Pattern: "/admin/queues/", Auth: AuthSession, Roles: admins, Summary: "Queue monitor (asynqmon)", handler: mount(s.cfg.QueueMonitor)})
	}
	if s.cfg.Mail != nil {
		rs = append(rs,
			Route{Method: "GET", Pattern: "/dev/mail", Auth: AuthSession, Roles: anyRole, Summary: "Development mailboxes", page: true, handler: s.pageMailboxes},
			Route{Method: "GET", Pattern: "/dev/mail/{addr}", Auth: AuthSession, Roles: anyRole, Summary: "Development mailbox", page: true, handler: s.pageMailbox},
			Route{Method: "GET", Pattern: "/dev/mail/{addr}/{uid}", Auth: AuthSession, Roles: anyRole, Summary: "Development mail message", page: true, handler: s.pageMessage},
			Route{Method: "GET", Pattern: "/dev/mail/{addr}/{uid}/raw", Auth: AuthSession, Roles: anyRole, Summary: "Development mail source", page: true, handler: s.pageMessageRaw},
		)
	}
	return rs
}
