"""Reading ISAKMP and ESP transform attributes through the attribute tables."""

from emulator.engines.ike.policy import PHASE1_ATTRIBUTES, PHASE2_ATTRIBUTES, Phase1Proposal
from emulator.wire import isakmp as K


def attrs(*pairs):
    return [K.Attribute(t, v) for t, v in pairs]


def test_phase1_duration_counts_only_after_a_seconds_life_type():
    values, reason = PHASE1_ATTRIBUTES.read(attrs(
        (K.OAKLEY_ENCRYPTION, K.ENC_DES_CBC), (K.OAKLEY_LIFE_TYPE, K.LIFE_KILOBYTES),
        (K.OAKLEY_LIFE_DURATION, 4608000), (K.OAKLEY_LIFE_TYPE, K.LIFE_SECONDS), (K.OAKLEY_LIFE_DURATION, 3600)))
    assert (values, reason) == ({"encryption": K.ENC_DES_CBC, "lifetime": 3600}, "")
    # A duration with no life type before it is ignored in phase 1.
    assert PHASE1_ATTRIBUTES.read(attrs((K.OAKLEY_LIFE_DURATION, 99))) == ({}, "")


def test_phase2_durations_by_unit_and_unknown_attribute_reason():
    values, reason = PHASE2_ATTRIBUTES.read(attrs(
        (K.IPSEC_SA_LIFE_TYPE, K.LIFE_SECONDS), (K.IPSEC_SA_LIFE_DURATION, 3600),
        (K.IPSEC_SA_LIFE_TYPE, K.LIFE_KILOBYTES), (K.IPSEC_SA_LIFE_DURATION, 4608000),
        (K.IPSEC_AUTH_ALGORITHM, 1), (99, 7), (98, 1)))
    assert values == {"life_s": 3600, "life_kb": 4608000, "auth": 1}
    assert reason == "attribute 99 not supported"   # the first unknown one is named


def test_proposal_from_transform_defaults_and_reasons():
    t = K.Transform(1, K.KEY_IKE, attrs((K.OAKLEY_ENCRYPTION, K.ENC_AES_CBC), (K.OAKLEY_HASH, K.HASH_SHA),
                                        (K.OAKLEY_AUTH_METHOD, K.AUTH_PRE_SHARED)))
    proposal, lines, reason = Phase1Proposal.from_transform(t)
    assert reason == "" and proposal is not None
    assert (proposal.group, proposal.lifetime, proposal.key_length) == (1, 86400, 128)
    assert lines == [(K.OAKLEY_ENCRYPTION, K.ENC_AES_CBC), (K.OAKLEY_HASH, K.HASH_SHA),
                     (K.OAKLEY_AUTH_METHOD, K.AUTH_PRE_SHARED)]
    missing = K.Transform(1, K.KEY_IKE, attrs((K.OAKLEY_ENCRYPTION, K.ENC_DES_CBC)))
    assert Phase1Proposal.from_transform(missing)[0::2] == (None, "mandatory attribute missing")
    wrong_id = K.Transform(1, 2, t.attributes + attrs((77, 1)))
    assert Phase1Proposal.from_transform(wrong_id)[2] == "transform id 2 is not KEY_IKE"
