// Fn::GetParam is a CodePipeline function: it only goes into ParameterOverrides, never into a property.
use cfn::actions::GetParam;
use cfn::resources::ssm;

fn main() {
    let tag = GetParam::new("Build", "build.json", "tag");
    let _ = ssm::Parameter::new(ssm::parameter::Type::String, tag);
}
