//! What can go wrong with influencer marketing: one enum, each variant a status, a stable code
//! and a message; mapped to problem+json by the kernel.

shared::domain_errors! {
    /// What can go wrong with PetStars, ads, applications and reviews.
    pub enum CampaignError {
        PetNotFound => (404, "PET_NOT_FOUND", "No such pet."),
        NotYourPet => (403, "NOT_YOUR_PET", "Only the pet's owner may do this."),
        PetstarNotFound => (404, "PETSTAR_NOT_FOUND", "No such PetStar."),
        AlreadyPetstar => (409, "PETSTAR_ALREADY_APPLIED", "This pet has applied already or is a PetStar."),
        PetstarRejected => (409, "PETSTAR_REJECTED", "This pet was not accepted as a PetStar and cannot apply again."),
        PetstarDecided => (409, "PETSTAR_ALREADY_DECIDED", "The application was decided already."),
        HistoryNotFound => (404, "HISTORY_NOT_FOUND", "No such activity history."),
        TooManyHistories => (409, "TOO_MANY_HISTORIES", "At most 100 activity histories per pet."),
        Changed => (409, "CONCURRENT_UPDATE", "It changed meanwhile. Try again."),
        AdNotFound => (404, "AD_NOT_FOUND", "No such ad."),
        NotYourAd => (403, "NOT_YOUR_AD", "Only the ad's advertiser may do this."),
        AdNotEditable => (409, "AD_NOT_EDITABLE", "An ad can be changed only while it waits for approval or after a rejection."),
        AdHasApplications => (409, "AD_HAS_APPLICATIONS", "PetStars have applied to this ad; it cannot be deleted."),
        AdDecided => (409, "AD_ALREADY_DECIDED", "The ad is not waiting for a decision."),
        AdNotApproved => (409, "AD_NOT_APPROVED", "The ad is not open for applications."),
        NotYetOpen => (409, "APPLICATIONS_NOT_OPEN_YET", "Applications open on the ad's announcement start."),
        ApplicationsClosed => (409, "APPLICATIONS_CLOSED", "The ad's announcement period is over."),
        NotAPetstar => (403, "NOT_A_PETSTAR", "Only an active PetStar may apply."),
        AlreadyApplied => (409, "ALREADY_APPLIED", "This pet has applied to this ad already."),
        ApplicationNotFound => (404, "APPLICATION_NOT_FOUND", "No such application."),
        NotYourApplication => (403, "NOT_YOUR_APPLICATION", "Only the applicant may do this."),
        ApplicationNotOpen => (409, "APPLICATION_NOT_EDITABLE", "The application can be changed or cancelled only while it is APPLIED."),
        NotInSelection => (409, "NOT_IN_SELECTION", "PetStars are selected after the announcement closes and before the selection date."),
        SelectionFull => (409, "SELECTION_FULL", "As many PetStars as the ad wants are selected already."),
        NotSelectable => (409, "NOT_SELECTABLE", "Only an application in selection can be selected."),
        NotInTrial => (409, "CAMPAIGN_NOT_RUNNING", "Reviews are submitted while the campaign runs."),
        ReviewNotExpected => (409, "REVIEW_NOT_EXPECTED", "Only a selected PetStar submits a review, and not while one waits for a decision."),
        ReviewNotFound => (404, "REVIEW_NOT_FOUND", "No such review."),
        ReviewNotSubmitted => (409, "REVIEW_NOT_SUBMITTED", "The review is not waiting for a decision."),
        NotAllowed => (403, "NOT_YOUR_AD", "Only the ad's advertiser or an administrator may see this."),
    }
}
