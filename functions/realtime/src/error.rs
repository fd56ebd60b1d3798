//! What can go wrong when connecting: one enum, each variant a status, a stable code and a
//! message; mapped to problem+json by the kernel.

shared::domain_errors! {
    /// What can go wrong with real-time connections.
    pub enum RealtimeError {
        TicketRequired => (401, "TICKET_REQUIRED", "Connect with ?ticket= from POST /realtime/tickets."),
        InvalidTicket => (401, "INVALID_TICKET", "The ticket is unknown, used or expired. Get a new one."),
        UnknownAction => (400, "UNKNOWN_ACTION", "No such action."),
    }
}
