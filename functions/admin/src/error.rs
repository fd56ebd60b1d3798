//! What can go wrong in administration.

shared::domain_errors! {
    /// What can go wrong in administration.
    pub enum AdminError {
        UserNotFound => (404, "USER_NOT_FOUND", "No such user."),
        CannotBlockAdmin => (403, "CANNOT_BLOCK_ADMIN", "Administrators cannot be blocked."),
        CannotBlockSelf => (403, "CANNOT_BLOCK_SELF", "You cannot block yourself."),
        NotBlocked => (409, "NOT_BLOCKED", "The account is not blocked."),
        BlockChanged => (409, "CONCURRENT_UPDATE", "The block changed meanwhile."),
        ReportNotFound => (404, "REPORT_NOT_FOUND", "No such report."),
        ReportDecided => (409, "REPORT_ALREADY_DECIDED", "The report was decided already."),
        ContentNotFound => (404, "CONTENT_NOT_FOUND", "No such content, or it was removed already."),
        NoticeNotFound => (404, "NOTICE_NOT_FOUND", "No such notice."),
        CannotChangeOwnRole => (403, "CANNOT_CHANGE_OWN_ROLE", "Another administrator changes your role."),
        AdvertiserRole => (409, "ADVERTISER_ROLE", "Advertisers keep their role."),
        RoleChanged => (409, "CONCURRENT_UPDATE", "The account changed meanwhile, or is not active."),
        TargetNotFound => (404, "TARGET_NOT_FOUND", "Nothing to report there."),
        CannotReportSelf => (400, "CANNOT_REPORT_SELF", "You cannot report yourself or your own content."),
        AlreadyReported => (409, "ALREADY_REPORTED", "You already reported this; moderators will look at it."),
    }
}
