use super::fixture::*;
use porter_protocol::*;

#[test]
fn a_valid_presentation_is_admitted_once() {
    let site = Site::new();
    let mut memory = site.memory();
    let (challenge, p) = site.valid(10, 1, 1);
    match memory.admit(&site.config, NOON, &challenge, &p) {
        Decision::Admit(a) => {
            assert_eq!(a.grant_serial, 10);
            assert_eq!(a.use_index, 0);
        }
        Decision::Reject(e) => panic!("rejected: {e}"),
    }
    let before = memory.clone();
    assert_eq!(
        memory.admit(&site.config, NOON, &challenge, &p),
        Decision::Reject(Error::ReplayDuplicate)
    );
    assert_eq!(memory, before);
}
