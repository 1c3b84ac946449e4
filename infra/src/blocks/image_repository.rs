//! The stage's image repository: immutable tags (a tag names one build for good), scanned on push,
//! encrypted with the stage key, the last images kept, kept when the stack goes.

use cfn::resources::{ecr, kms};
use cfn::{Attributes, Res, Template};

use crate::naming::StageNames;

/// Images kept in the repository; older ones expire (immutable tags: every build adds one).
pub const IMAGES_KEPT: u32 = 100;

#[derive(Clone, Copy)]
pub struct ImageRepository {
    pub repository: Res<ecr::Repository>,
}

impl ImageRepository {
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
                        "rules": [{
                            "rulePriority": 1,
                            "description": format!("keep the last {IMAGES_KEPT} images"),
                            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": IMAGES_KEPT},
                            "action": {"type": "expire"},
                        }]
                    }),
                ))),
            Attributes::new().retain(),
        );
        ImageRepository { repository }
    }
}
