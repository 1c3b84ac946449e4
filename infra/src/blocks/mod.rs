//! The environment's building blocks, between one resource (`cfn::resources`, generated from the
//! schemas) and a whole stack (`pipeline`, `service`), as CDK's L2 constructs sit above its L1 types.
//! Each adds the resources of one piece of the seed's diagram to a template, from typed inputs (its
//! `...Props`, or arguments), and returns the handles other blocks need. Each can be added to an
//! empty template and tested on its own (`infra/tests/blocks.rs`).
//!
//! The service stack: [`LoadBalancer`], [`ContainerInstances`], [`EcsService`].
//! The pipeline stack: [`StageKey`], [`LogBucket`], [`ArtifactStore`], [`ImageRepository`],
//! [`TaskExecutionPolicy`], [`InstancePolicy`], [`ExecPolicy`], [`BuildProject`], [`ChangeSetSummary`], [`ServiceDeployPolicy`], [`DeliveryPipeline`].

mod buckets;
mod build_project;
pub mod change_set_summary;
mod container_instances;
mod delivery;
mod deploy_policy;
mod ecs_service;
mod exec_policy;
mod image_repository;
mod instance_policy;
mod load_balancer;
mod stage_key;
mod task_execution;

pub use buckets::{ACCESS_LOG_RETENTION_DAYS, ArtifactStore, ELB_LOG_ACCOUNTS, LogBucket};
pub use build_project::{
    BUILD_IMAGE, BUILD_IMAGE_ARM, BUILD_LOG_RETENTION_DAYS, BuildProject, BuildProjectProps,
};
pub use change_set_summary::{ChangeSetSummary, ChangeSetSummaryProps};
pub use container_instances::{
    ContainerInstances, ContainerInstancesProps, INSTANCE_WARMUP_SECONDS, REPLACEMENT_BATCH, SIGNAL_TIMEOUT,
    SUSPENDED_DURING_REPLACEMENT, TARGET_CAPACITY_PERCENT,
};
pub use delivery::{
    APPROVE_ACTION, APPROVE_ORDER, Approval, BUILD_ACTION, BUILD_STAGE, CREATE_ACTION, CREATE_ORDER,
    DEPLOY_STAGE, DeliveryPipeline, DeliveryPipelineProps, EXECUTE_ACTION, EXECUTE_ORDER, GitSource,
    SOURCE_STAGE, SUMMARY_ACTION, SUMMARY_ORDER, Sources,
};
pub use deploy_policy::{ServiceDeployPolicy, ServiceDeployPolicyProps};
pub use ecs_service::{
    ALARM_EVALUATION_PERIODS, ALARM_PERIOD_SECONDS, EcsService, EcsServiceProps, MAXIMUM_PERCENT,
    MINIMUM_HEALTHY_PERCENT, SCALE_IN_COOLDOWN_SECONDS, SCALE_OUT_COOLDOWN_SECONDS, STOP_TIMEOUT_SECONDS,
};
pub use exec_policy::ExecPolicy;
pub use image_repository::{IMAGES_KEPT, ImageRepository};
pub use instance_policy::InstancePolicy;
pub use load_balancer::{
    DEREGISTRATION_DELAY_SECONDS, DYNAMIC_PORTS, HEALTH_CHECK_INTERVAL_SECONDS, HEALTHY_THRESHOLD,
    LoadBalancer, LoadBalancerProps, TLS_POLICY, UNHEALTHY_THRESHOLD,
};
pub use stage_key::{StageKey, StageKeyProps};
pub use task_execution::TaskExecutionPolicy;
