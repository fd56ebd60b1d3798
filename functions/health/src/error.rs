//! What can go wrong in health care: one enum, each variant a status, a stable code and a message.

shared::domain_errors! {
    /// What can go wrong in health care.
    pub enum HealthError {
        PetNotFound => (404, "PET_NOT_FOUND", "No such pet."),
        NotYourPet => (403, "NOT_YOUR_PET", "Only the pet's owner may see or change its health records."),
        ActivityNotFound => (404, "ACTIVITY_NOT_FOUND", "No activity recorded for this pet on this day."),
        ScheduleNotFound => (404, "SCHEDULE_NOT_FOUND", "No such schedule."),
        ScheduleChanged => (409, "CONCURRENT_UPDATE", "The schedule changed meanwhile. Try again."),
        TooManySchedules => (409, "TOO_MANY_SCHEDULES", "A pet has at most 50 schedules. Delete one to add another."),
        ReminderSent => (409, "REMINDER_SENT", "The reminder was sent already."),
        PrescriptionNotFound => (404, "PRESCRIPTION_NOT_FOUND", "No such prescription."),
        SummaryWritten => (409, "SUMMARY_EXISTS", "The week's summary was written already."),
        PrescriptionFinished => (409, "PRESCRIPTION_FINISHED", "The prescription was read already."),
    }
}
