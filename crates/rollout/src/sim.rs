//! The simulation: one-second steps of ECS's service scheduler, the load balancer's health checks and
//! deregistration, CloudFormation's instance replacement and ECS's managed scaling and draining.

use serde::Serialize;

use crate::setup::{Replacement, Setup};

/// What is rolled out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// A new image (a new task definition): every task replaced.
    Image,
    /// Every container instance replaced (an AMI bump, another instance type).
    Instances,
    /// Load rises: from the service's fewest tasks to its most.
    ScaleOut,
}

impl Scenario {
    pub const ALL: [Scenario; 3] = [Scenario::Image, Scenario::Instances, Scenario::ScaleOut];

    pub fn describe(self) -> &'static str {
        match self {
            Scenario::Image => "a new image rolled out",
            Scenario::Instances => "every container instance replaced",
            Scenario::ScaleOut => "a scale-out from the fewest tasks to the most",
        }
    }
}

/// One moment of the timeline: something happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    pub at_s: u32,
    /// Tasks the load balancer sends requests to.
    pub serving: u32,
    /// Instances that can run tasks.
    pub instances: u32,
    pub what: String,
}

/// What a rollout looks like.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Timeline {
    pub scenario: Scenario,
    pub events: Vec<Event>,
    /// When the rollout was over (None: not within the model's four hours).
    pub done_at_s: Option<u32>,
    /// The fewest tasks serving at any time.
    pub min_serving: u32,
    /// The fewest the deployment configuration allows (the service's minimum healthy percent).
    pub required_serving: u32,
    /// Seconds during which no task served.
    pub outage_s: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for room on an instance.
    Provisioning,
    /// Placed; serves from `until` (started, and one health check passed).
    Starting {
        until: u32,
    },
    Serving,
    /// Deregistered from the target group; connections drain until `until`.
    Deregistering {
        until: u32,
    },
    Stopped,
}

#[derive(Clone, Copy, Debug)]
struct Task {
    instance: Option<usize>,
    phase: Phase,
    /// To be replaced (an old image, or on a draining instance).
    retiring: bool,
}

#[derive(Clone, Copy, Debug)]
struct Instance {
    ready_at: u32,
    draining: bool,
    gone: bool,
    /// From before the rollout.
    old: bool,
}

struct World<'a> {
    s: &'a Setup,
    t: u32,
    desired: u32,
    tasks: Vec<Task>,
    instances: Vec<Instance>,
    /// After tasks die with their instance, the scheduler notices them only from here.
    scheduler_from: u32,
    /// Since when tasks have waited for room (managed scaling's alarm).
    waiting_since: Option<u32>,
    events: Vec<Event>,
}

impl World<'_> {
    fn serving(&self) -> u32 {
        self.tasks.iter().filter(|t| t.phase == Phase::Serving).count() as u32
    }

    fn up(&self, i: usize) -> bool {
        let inst = &self.instances[i];
        !inst.gone && inst.ready_at <= self.t
    }

    fn instances_up(&self) -> u32 {
        (0..self.instances.len()).filter(|&i| self.up(i)).count() as u32
    }

    fn running_on(&self, i: usize) -> u32 {
        self.tasks
            .iter()
            .filter(|t| t.instance == Some(i) && t.phase != Phase::Stopped && t.phase != Phase::Provisioning)
            .count() as u32
    }

    fn note(&mut self, what: impl Into<String>) {
        let e = Event {
            at_s: self.t,
            serving: self.serving(),
            instances: self.instances_up(),
            what: what.into(),
        };
        self.events.push(e);
    }

    /// An instance with room for one more task (the emptiest, as ECS's spread placement would pick).
    fn room(&self) -> Option<usize> {
        (0..self.instances.len())
            .filter(|&i| self.up(i) && !self.instances[i].draining)
            .filter(|&i| self.running_on(i) < self.s.counts.slots_per_instance)
            .min_by_key(|&i| self.running_on(i))
    }

    fn launch(&mut self, n: u32) -> Vec<usize> {
        let ready_at = self.t + self.s.estimates.instance_ready_s;
        (0..n)
            .map(|_| {
                self.instances.push(Instance {
                    ready_at,
                    draining: false,
                    gone: false,
                    old: false,
                });
                self.instances.len() - 1
            })
            .collect()
    }

    /// An instance terminates: with managed draining its tasks are replaced first (it goes once they
    /// have stopped); without, they die with it.
    fn terminate(&mut self, i: usize) {
        if self.s.draining {
            self.instances[i].draining = true;
            for task in self.tasks.iter_mut().filter(|t| t.instance == Some(i)) {
                task.retiring = true;
            }
        } else {
            self.instances[i].gone = true;
            let mut killed = 0;
            for task in self.tasks.iter_mut().filter(|t| t.instance == Some(i)) {
                if task.phase != Phase::Stopped {
                    task.phase = Phase::Stopped;
                    killed += 1;
                }
            }
            if killed > 0 {
                self.scheduler_from = self.t + self.s.estimates.lost_task_detection_s;
                self.note(format!("{killed} task(s) stop with their instance, undrained"));
            }
        }
    }

    fn start_task(&mut self) {
        let placed = self.room();
        let phase = match placed {
            Some(_) => Phase::Starting {
                until: self.t + self.s.estimates.task_start_s + self.s.health_check_interval_s.value,
            },
            None => Phase::Provisioning,
        };
        self.tasks.push(Task {
            instance: placed,
            phase,
            retiring: false,
        });
    }

    /// Instances that finished booting (and signalled), and draining ones now empty.
    fn instances_step(&mut self) {
        // Instances that finished booting, and draining ones now empty.
        let booted = (0..self.instances.len())
            .filter(|&i| self.instances[i].ready_at == self.t && !self.instances[i].gone && self.t > 0)
            .count();
        if booted > 0 {
            self.note(format!(
                "{booted} new instance(s) registered with ECS and signalled"
            ));
        }
        for i in 0..self.instances.len() {
            if self.instances[i].draining && !self.instances[i].gone && self.running_on(i) == 0 {
                self.instances[i].gone = true;
                self.note("a drained instance terminates");
            }
        }
    }

    /// One second of ECS and the load balancer.
    fn step(&mut self) {
        let (dereg, stop) = (
            self.s.deregistration_delay_s.value,
            self.s.stop_timeout_s.value.min(2),
        );
        // Tasks move on.
        let mut became_serving = 0;
        for task in &mut self.tasks {
            match task.phase {
                Phase::Starting { until } if until <= self.t => {
                    task.phase = Phase::Serving;
                    became_serving += 1;
                }
                Phase::Deregistering { until } if until + stop <= self.t => task.phase = Phase::Stopped,
                _ => {}
            }
        }
        if became_serving > 0 {
            self.note(format!(
                "{became_serving} new task(s) pass their health check and serve"
            ));
        }
        // Waiting tasks take room as it appears.
        for k in 0..self.tasks.len() {
            if self.tasks[k].phase == Phase::Provisioning
                && let Some(i) = self.room()
            {
                self.tasks[k].instance = Some(i);
                self.tasks[k].phase = Phase::Starting {
                    until: self.t + self.s.estimates.task_start_s + self.s.health_check_interval_s.value,
                };
            }
        }
        if self.t < self.scheduler_from {
            return;
        }
        // The service scheduler.
        let n = self.desired;
        let max_total = n * self.s.maximum_percent.value / 100;
        let min_healthy = (n * self.s.minimum_healthy_percent.value).div_ceil(100);
        let alive = |t: &Task| t.phase != Phase::Stopped;
        let mut started = 0;
        loop {
            let fresh = self.tasks.iter().filter(|t| alive(t) && !t.retiring).count() as u32;
            // Tasks still deregistering run, and count toward the maximum percent.
            let total = self.tasks.iter().filter(|t| alive(t)).count() as u32;
            if fresh >= n || total >= max_total.max(n) {
                break;
            }
            self.start_task();
            started += 1;
        }
        if started > 0 {
            self.note(format!("ECS starts {started} task(s)"));
        }
        // Retiring tasks that do not serve go at once; serving ones when enough others serve, or down
        // to the minimum healthy when new ones wait for room.
        for task in self.tasks.iter_mut() {
            if task.retiring && matches!(task.phase, Phase::Provisioning | Phase::Starting { .. }) {
                task.phase = Phase::Stopped;
            }
        }
        let waiting = self
            .tasks
            .iter()
            .any(|t| t.phase == Phase::Provisioning && !t.retiring);
        let mut deregistered = 0;
        loop {
            let serving = self.serving();
            let fresh_serving = self
                .tasks
                .iter()
                .filter(|t| t.phase == Phase::Serving && !t.retiring)
                .count() as u32;
            let Some(k) = self
                .tasks
                .iter()
                .position(|t| t.retiring && t.phase == Phase::Serving)
            else {
                break;
            };
            let enough = fresh_serving >= n || serving > n;
            let make_room = waiting && serving > min_healthy;
            if !(enough || make_room) {
                break;
            }
            self.tasks[k].phase = Phase::Deregistering {
                until: self.t + dereg,
            };
            deregistered += 1;
        }
        if deregistered > 0 {
            self.note(format!(
                "{deregistered} old task(s) deregistered: draining connections for {dereg} s, then stopped"
            ));
        }
        // ECS managed scaling: tasks that wait for room for a minute bring instances.
        let waiting_tasks = self
            .tasks
            .iter()
            .filter(|t| t.phase == Phase::Provisioning)
            .count() as u32;
        if waiting_tasks == 0 {
            self.waiting_since = None;
        } else if self.s.managed_scaling {
            let since = *self.waiting_since.get_or_insert(self.t);
            let booting = self
                .instances
                .iter()
                .filter(|i| !i.gone && i.ready_at > self.t)
                .count() as u32;
            let present = self.instances.iter().filter(|i| !i.gone).count() as u32;
            if self.t >= since + self.s.estimates.capacity_alarm_s && booting == 0 {
                let want = waiting_tasks
                    .div_ceil(self.s.counts.slots_per_instance)
                    .min(self.s.counts.max_instances.saturating_sub(present))
                    .min(10);
                if want > 0 {
                    self.launch(want);
                    self.note(format!(
                        "ECS managed scaling launches {want} instance(s) for tasks waiting for room"
                    ));
                }
                self.waiting_since = Some(self.t);
            }
        }
    }
}

/// The replacement of the instances, as CloudFormation drives it.
struct Replacer {
    old: Vec<usize>,
    /// Instances launched for the current step, not yet signalled.
    pending: Vec<usize>,
    /// The old instances to terminate once `pending` have signalled.
    next_terminate: Vec<usize>,
    done: bool,
}

impl Replacer {
    fn step(&mut self, w: &mut World<'_>) {
        if self.done {
            return;
        }
        if self.pending.iter().any(|&i| w.instances[i].ready_at > w.t) {
            return;
        }
        // The step's new instances have signalled: terminate the old ones it waited for.
        for i in std::mem::take(&mut self.next_terminate) {
            w.terminate(i);
            w.note("the new instance signalled: CloudFormation terminates an old one");
        }
        self.pending.clear();
        match w.s.replacement {
            Replacement::Replacing => {
                if self.old.is_empty() {
                    self.done = true;
                    return;
                }
                let n = self.old.len() as u32;
                self.pending = w.launch(n);
                self.next_terminate = std::mem::take(&mut self.old);
                w.note(format!("CloudFormation creates a new group of {n} instance(s)"));
            }
            Replacement::Rolling {
                batch,
                min_in_service,
                ..
            } => {
                if self.old.is_empty() {
                    self.done = true;
                    return;
                }
                let batch = (batch.max(1) as usize).min(self.old.len());
                let in_service = w.instances.iter().filter(|i| !i.gone && !i.draining).count() as u32;
                let take: Vec<usize> = self.old.drain(..batch).collect();
                if in_service.saturating_sub(batch as u32) >= min_in_service {
                    // Room to take instances out first: terminate, then launch their replacements.
                    for &i in &take {
                        w.terminate(i);
                    }
                    w.note(format!("CloudFormation terminates {batch} old instance(s) first"));
                    self.pending = w.launch(batch as u32);
                } else {
                    self.pending = w.launch(batch as u32);
                    self.next_terminate = take;
                    w.note(format!("CloudFormation launches {batch} new instance(s)"));
                }
            }
            Replacement::None => self.done = true,
        }
    }
}

/// The rollout's timeline.
pub fn simulate(s: &Setup, scenario: Scenario) -> Timeline {
    let c = s.counts;
    let slots = c.slots_per_instance.max(1);
    let start_instances = c.min_instances.max(c.tasks.div_ceil(slots)).max(1);
    let mut w = World {
        s,
        t: 0,
        desired: c.tasks,
        tasks: Vec::new(),
        instances: (0..start_instances)
            .map(|_| Instance {
                ready_at: 0,
                draining: false,
                gone: false,
                old: true,
            })
            .collect(),
        scheduler_from: 0,
        waiting_since: None,
        events: Vec::new(),
    };
    for k in 0..c.tasks {
        w.tasks.push(Task {
            instance: Some(k as usize % start_instances as usize),
            phase: Phase::Serving,
            retiring: false,
        });
    }
    let required_serving = match scenario {
        Scenario::ScaleOut => c.tasks,
        _ => (c.tasks * s.minimum_healthy_percent.value).div_ceil(100),
    };
    let mut replacer = Replacer {
        old: (0..start_instances as usize).collect(),
        pending: Vec::new(),
        next_terminate: Vec::new(),
        done: scenario != Scenario::Instances,
    };
    match scenario {
        Scenario::Image => {
            for t in &mut w.tasks {
                t.retiring = true;
            }
            w.note(format!("a new task definition: {} task(s) to replace", c.tasks));
        }
        Scenario::Instances => w.note(format!(
            "a new launch template: {start_instances} instance(s) to replace ({})",
            s.replacement_from
        )),
        Scenario::ScaleOut => w.note(format!(
            "load rises: the scale-out alarm fires after {} s",
            s.estimates.scale_out_alarm_s
        )),
    }
    let replaces = s.replacement != Replacement::None;
    if scenario == Scenario::Instances && !replaces {
        w.note("no update policy: CloudFormation replaces no instance (new ones start from the new template as the group scales)");
    }
    let mut min_serving = w.serving();
    let mut outage_s = 0;
    let mut done_at_s = None;
    const LIMIT: u32 = 4 * 3600;
    while w.t <= LIMIT {
        if scenario == Scenario::ScaleOut && w.t == s.estimates.scale_out_alarm_s && w.desired < c.max_tasks {
            w.desired = c.max_tasks;
            w.note(format!(
                "service auto scaling sets the desired count to {}",
                c.max_tasks
            ));
        }
        w.instances_step();
        replacer.step(&mut w);
        w.step();
        let serving = w.serving();
        min_serving = min_serving.min(serving);
        if serving == 0 {
            outage_s += 1;
        }
        let settled = w
            .tasks
            .iter()
            .all(|t| matches!(t.phase, Phase::Serving | Phase::Stopped))
            && w.tasks
                .iter()
                .filter(|t| t.phase == Phase::Serving && !t.retiring)
                .count() as u32
                == w.desired
            && !w.tasks.iter().any(|t| t.retiring && t.phase != Phase::Stopped)
            && replacer.done
            && w.instances.iter().all(|i| !i.draining || i.gone)
            && (scenario != Scenario::ScaleOut || w.desired == c.max_tasks)
            && (scenario != Scenario::Instances || !replaces || w.instances.iter().all(|i| !i.old || i.gone));
        if settled && w.t > 0 {
            done_at_s = Some(w.t);
            w.note("done");
            break;
        }
        w.t += 1;
    }
    Timeline {
        scenario,
        events: w.events,
        done_at_s,
        min_serving,
        required_serving,
        outage_s,
    }
}
