//! The features of one entity-day, their stable names, and how each is
//! weighed and said.

/// How many features an entity-day has.
pub const NF: usize = 23;

/// One feature of an entity-day. The names are stable (they appear in
/// alerts and in the evaluation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feature {
    Downloads,
    DownloadFiles,
    DownloadMb,
    Views,
    ViewPages,
    Rooms,
    RoomShare,
    NewFiles,
    NewFilesWeek,
    PeakHour,
    Uploads,
    Shares,
    Deletes,
    AdminChanges,
    Denials,
    DeniedTargets,
    DlpHits,
    FailedSignIns,
    NewSources,
    NewCountries,
    NewZones,
    OffHours,
    TraceHits,
}

impl Feature {
    /// Every feature, in index order.
    pub const ALL: [Feature; NF] = [
        Feature::Downloads,
        Feature::DownloadFiles,
        Feature::DownloadMb,
        Feature::Views,
        Feature::ViewPages,
        Feature::Rooms,
        Feature::RoomShare,
        Feature::NewFiles,
        Feature::NewFilesWeek,
        Feature::PeakHour,
        Feature::Uploads,
        Feature::Shares,
        Feature::Deletes,
        Feature::AdminChanges,
        Feature::Denials,
        Feature::DeniedTargets,
        Feature::DlpHits,
        Feature::FailedSignIns,
        Feature::NewSources,
        Feature::NewCountries,
        Feature::NewZones,
        Feature::OffHours,
        Feature::TraceHits,
    ];

    /// The index of the feature in a day's vector.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The stable name.
    pub fn name(self) -> &'static str {
        match self {
            Feature::Downloads => "downloads",
            Feature::DownloadFiles => "download_files",
            Feature::DownloadMb => "download_mb",
            Feature::Views => "views",
            Feature::ViewPages => "view_pages",
            Feature::Rooms => "rooms",
            Feature::RoomShare => "room_share",
            Feature::NewFiles => "new_files",
            Feature::NewFilesWeek => "new_files_week",
            Feature::PeakHour => "peak_hour",
            Feature::Uploads => "uploads",
            Feature::Shares => "shares",
            Feature::Deletes => "deletes",
            Feature::AdminChanges => "admin_changes",
            Feature::Denials => "denials",
            Feature::DeniedTargets => "denied_targets",
            Feature::DlpHits => "dlp_hits",
            Feature::FailedSignIns => "failed_sign_ins",
            Feature::NewSources => "new_sources",
            Feature::NewCountries => "new_countries",
            Feature::NewZones => "new_zones",
            Feature::OffHours => "off_hours",
            Feature::TraceHits => "trace_hits",
        }
    }

    /// The smallest spread a baseline is given, so that a quiet entity's one
    /// extra download is not a thousand deviations.
    pub fn floor(self) -> f64 {
        match self {
            Feature::Downloads | Feature::DownloadFiles | Feature::Views => 4.0,
            Feature::DownloadMb => 40.0,
            Feature::ViewPages => 40.0,
            Feature::Rooms => 1.5,
            Feature::RoomShare => 15.0,
            Feature::NewFiles => 4.0,
            Feature::NewFilesWeek => 6.0,
            Feature::PeakHour => 6.0,
            Feature::Uploads => 4.0,
            Feature::Shares | Feature::Deletes | Feature::AdminChanges => 2.0,
            Feature::Denials | Feature::DeniedTargets => 3.0,
            Feature::DlpHits | Feature::FailedSignIns => 2.0,
            Feature::NewSources | Feature::NewZones => 1.5,
            Feature::NewCountries | Feature::TraceHits => 0.5,
            Feature::OffHours => 4.0,
        }
    }

    /// The weight of the feature in the score. Features that say the same
    /// thing twice (bytes and files) weigh less.
    pub fn weight(self) -> f64 {
        match self {
            Feature::Downloads | Feature::DownloadMb | Feature::Views => 0.5,
            Feature::NewFiles
            | Feature::NewFilesWeek
            | Feature::DeniedTargets
            | Feature::TraceHits => 1.5,
            Feature::Uploads | Feature::NewSources => 0.5,
            _ => 1.0,
        }
    }

    /// What the entity did, as a phrase ("downloaded 212 files").
    pub fn phrase(self, value: f64) -> String {
        let n = value.round();
        match self {
            Feature::Downloads => format!("made {n} downloads"),
            Feature::DownloadFiles => format!("downloaded {n} files"),
            Feature::DownloadMb => format!("downloaded {n} MB"),
            Feature::Views => format!("opened {n} views"),
            Feature::ViewPages => format!("was shown {n} pages in the viewer"),
            Feature::Rooms => format!("took files from {n} rooms"),
            Feature::RoomShare => format!("took {n} % of a room's files"),
            Feature::NewFiles => format!("took {n} files never taken before"),
            Feature::NewFilesWeek => {
                format!("took {n} files never taken before over its last 7 active days")
            }
            Feature::PeakHour => format!("made {n} downloads and views in one hour"),
            Feature::Uploads => format!("uploaded {n} files"),
            Feature::Shares => format!("created {n} grants, invitations or tokens"),
            Feature::Deletes => format!("deleted {n} files"),
            Feature::AdminChanges => {
                format!("changed {n} settings of users, parties, rooms or policies")
            }
            Feature::Denials => format!("was refused {n} times"),
            Feature::DeniedTargets => format!("was refused on {n} different targets"),
            Feature::DlpHits => format!("moved content with findings {n} times"),
            Feature::FailedSignIns => format!("failed to sign in {n} times"),
            Feature::NewSources => format!("came from {n} new addresses"),
            Feature::NewCountries => format!("came from {n} new countries"),
            Feature::NewZones => format!("came from {n} new network zones"),
            Feature::OffHours => format!("made {n} accesses off hours"),
            Feature::TraceHits => format!("had {n} leaked copies traced to them"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_follow_the_list_and_names_are_unique() {
        let mut names = std::collections::BTreeSet::new();
        for (i, f) in Feature::ALL.iter().enumerate() {
            assert_eq!(f.index(), i);
            assert!(names.insert(f.name()), "{}", f.name());
            assert!(f.floor() > 0.0 && f.weight() > 0.0);
        }
    }

    #[test]
    fn phrases() {
        let table = [
            (Feature::DownloadFiles, 212.0, "downloaded 212 files"),
            (Feature::Rooms, 3.0, "took files from 3 rooms"),
            (Feature::DownloadMb, 12.4, "downloaded 12 MB"),
            (Feature::FailedSignIns, 7.0, "failed to sign in 7 times"),
        ];
        for (f, v, want) in table {
            assert_eq!(f.phrase(v), want);
        }
    }
}
