// A handle comes only from adding a resource: its fields are private.
use cfn::Res;
use cfn::resources::s3;

fn main() {
    let _forged: Res<s3::Bucket> = Res { key: todo!(), _type: std::marker::PhantomData };
}
