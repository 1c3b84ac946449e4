// Neither a handle nor a reference can be made from a logical-ID string.
use cfn::resources::s3;
use cfn::{Res, Val};

fn main() {
    let _handle: Res<s3::Bucket> = Res::new("Bucket");
    let _reference: Val<String> = Val::new("Bucket");
}
