// Intrinsic functions are typed: Select needs a list and a number, Join a list, If two branches of one type.
use cfn::fns;
use cfn::resources::{ec2, logs};

fn main() {
    let _ = fns::select("0", fns::get_azs());
    let _ = fns::select(0, "not-a-list");
    let _ = fns::join(",", "not-a-list");
    let _ = logs::LogGroup::new().retention_in_days(fns::if_(todo_cond(), 30, "thirty"));
    // Enums are typed too: a typo is not a volume type.
    let _ = ec2::launch_template::Ebs::new().volume_type("gp33");
}

fn todo_cond() -> cfn::Cond {
    unimplemented!()
}
