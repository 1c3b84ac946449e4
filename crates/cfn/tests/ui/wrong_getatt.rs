// A bucket has no DNSName attribute: asking for one does not compile.
use cfn::Template;
use cfn::resources::s3;

fn main() {
    let mut t = Template::new();
    let bucket = t.add("Bucket", s3::Bucket::new());
    let _ = bucket.dns_name();
}
