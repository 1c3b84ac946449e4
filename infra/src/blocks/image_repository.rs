//! The stage's image repository: immutable tags (a tag names one build for good), scanned on push,
//! encrypted with the stage key, the last images kept, kept when the stack goes.
//!
//! It holds two kinds of image: the app's, tagged with the hash of its build inputs, and the build's
//! dependency images ([`DEPENDENCY_TAG_PREFIX`] and the hash of the manifests, the lock and the
//! Dockerfile), whose layers later builds reuse. The lifecycle policy keeps the last few dependency
//! images apart, so that a run of app builds never expires the one they build on.

use cfn::resources::{ecr, kms};
use cfn::{Attributes, Res, Template};
use pipeline_model::image::DEPENDENCY_TAG_PREFIX;

use crate::naming::StageNames;

/// Images kept in the repository; older ones expire (immutable tags: every build of new inputs adds
/// one). The dependency images count among them, but never expire by this count.
pub const IMAGES_KEPT: u32 = 100;

#[derive(Clone, Copy)]
pub struct ImageRepository {
    pub repository: Res<ecr::Repository>,
}

impl ImageRepository {
    /// Dependency images kept (tags starting with [`DEPENDENCY_TAG_PREFIX`]); older ones expire. A
    /// few, so that going back to an earlier lock file still finds its dependencies built.
    pub const DEPENDENCY_IMAGES_KEPT: u32 = 5;

    pub fn add(t: &mut Template, names: StageNames, key: Res<kms::Key>) -> ImageRepository {
        let repository = t.add_with(
            "Repository",
            ecr::Repository::new()
                .repository_name(names.sub(names.names().repository()))
                .image_tag_mutability(ecr::repository::ImageTagMutability::Immutable)
                .image_scanning_configuration(ecr::repository::ImageScanningConfiguration::new().scan_on_push(true))
                .encryption_configuration(
                    ecr::repository::EncryptionConfiguration::new(ecr::repository::EncryptionTypeValue::Kms)
                        .kms_key(key.arn()),
                )
                .lifecycle_policy(ecr::repository::LifecyclePolicy::new().lifecycle_policy_text(cfn::json_text(
                    &serde_json::json!({
                        // ECR applies the rules by priority; an image a rule selects is never expired by a
                        // later one, and the `any` rule must come last.
                        "rules": [
                            {
                                "rulePriority": 1,
                                "description": format!(
                                    "keep the last {} dependency images ({DEPENDENCY_TAG_PREFIX}*)",
                                    Self::DEPENDENCY_IMAGES_KEPT
                                ),
                                "selection": {
                                    "tagStatus": "tagged",
                                    "tagPrefixList": [DEPENDENCY_TAG_PREFIX],
                                    "countType": "imageCountMoreThan",
                                    "countNumber": Self::DEPENDENCY_IMAGES_KEPT,
                                },
                                "action": {"type": "expire"},
                            },
                            {
                                "rulePriority": 2,
                                "description": format!("keep the last {IMAGES_KEPT} images"),
                                "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": IMAGES_KEPT},
                                "action": {"type": "expire"},
                            },
                        ]
                    }),
                ))),
            Attributes::new().retain(),
        );
        ImageRepository { repository }
    }
}
