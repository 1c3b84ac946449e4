// Parameter handles carry their type: a subnet list is not a VPC ID, and a resource is not a parameter.
use cfn::params::aws;
use cfn::resources::ec2;
use cfn::{Param, Parameter, Template};

fn needs_vpc(_vpc: Param<aws::VpcId>) {}

fn main() {
    let mut t = Template::new();
    let subnets = t.add_parameter("Subnets", Parameter::<aws::SubnetIds>::new());
    let sg = t.add("Sg", ec2::SecurityGroup::new("x"));
    needs_vpc(subnets);
    needs_vpc(sg);
    // A list parameter does not fit where one string is expected.
    let _ = ec2::SecurityGroup::new("x").vpc_id(subnets);
}
